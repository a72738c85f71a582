import { createHash } from 'node:crypto'
import http from 'node:http'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import tls from 'node:tls'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { systemActor } from '@/lib/auth/actor'
import { issueCertificate } from '@/lib/certificates/issue-certificate'
import { removeDeliveredCertificate } from '@/lib/certificates/remove-certificate'
import { uploadCertificate } from '@/lib/certificates/upload-certificate'
import { renewCertificates } from '@/lib/certificates/renew-certificates'
import { createDeployment } from '@/lib/deployments/create-deployment'
import { createDomainContext, type DomainContext } from '@/lib/domains/domain-context'
import { addDomain } from '@/lib/domains/manage-domains'
import { verifyDomain } from '@/lib/domains/verify-domain'
import { createSecretBox, newSecretKeySpec, parseSecretKeys } from '@/lib/secrets/cipher'
import { EMPTY_ROUTING, startLbAgent, type LbAgent } from '@/lb-agent/agent'
import { renderHaproxy } from '@/lb-agent/render'
import { startConsulDouble, type ConsulDouble } from '@/test/fakes/consul/server'
import { GANDI_DOUBLE_TOKEN, startGandiDouble, type GandiDouble } from '@/test/fakes/gandi/server'
import { startDeployer, type Deployer } from '@/test/support/deployer'
import { FAST_AGENT_TIMINGS, freePort, startHaproxy, testRenderOptions, type StartedHaproxy } from '@/test/support/haproxy'
import { certificateCorpus } from '@/test/support/certificate-corpus'
import { startPebble, type Pebble } from '@/test/support/pebble'
import { waitFor } from './helpers'

/**
 * The whole path with real Pebble (real validation), real HAProxy and the agent, the Consul and Gandi doubles:
 * the zone's and an instance's certificates by DNS-01 through Gandi LiveDNS, a client's custom domain verified by
 * its TXT token and certified by HTTP-01 through HAProxy, each served by SNI; renewal with the clock moved on,
 * installed without a reload; a CA outage backing off with an alert.
 */
const ZONE = 'hosting.test'
const PREFIX = 'tenon-tls'
const staff = systemActor('tests')
const lbKeys = newSecretKeySpec('lb1')
let pebble: Pebble
let gandi: GandiDouble
let consul: ConsulDouble
let haproxy: StartedHaproxy
let agent: LbAgent
let env: Deployer
let ctx: DomainContext
let dir: string
let httpsPort: number

beforeAll(async () => {
  const httpPort = await freePort()
  httpsPort = await freePort()
  pebble = await startPebble({ httpPort })
  gandi = await startGandiDouble({ zones: [ZONE], challtestsrv: pebble.challtestsrv })
  consul = await startConsulDouble()
  dir = await mkdtemp(path.join(os.tmpdir(), 'tenon-tls-'))
  const render = testRenderOptions(dir, httpPort, { httpsPort })
  haproxy = await startHaproxy({ configDir: dir, rendered: renderHaproxy(EMPTY_ROUTING, render) })
  agent = startLbAgent({
    consul: { address: consul.url },
    prefix: PREFIX,
    render,
    haproxy: haproxy.control,
    ...FAST_AGENT_TIMINGS,
    log: pino({ level: 'silent' }),
    certificateKeys: createSecretBox(parseSecretKeys(lbKeys)),
    publicAddresses: ['127.0.0.1'],
  })
  await agent.ready()
  const caFile = path.join(dir, 'pebble-ca.pem')
  await writeFile(caFile, pebble.caBundle)
  env = await startDeployer({
    HOSTING_ZONE: ZONE,
    CONSUL_HTTP_ADDR: consul.url,
    CONSUL_PREFIX: PREFIX,
    LB_CERTIFICATE_KEYS: lbKeys,
    GANDI_TOKEN: GANDI_DOUBLE_TOKEN,
    GANDI_API_URL: gandi.url,
    DNS_LB_ADDRESSES: '127.0.0.1',
    DNS_RESOLVERS: `127.0.0.1:${pebble.dnsPort}`,
    ACME_DIRECTORY_URL: pebble.directoryUrl,
    ACME_CA_BUNDLE: caFile,
    ACME_EMAIL: 'ops@example.test',
  })
  ctx = createDomainContext(env.orchestrator)
}, 60_000)

afterAll(async () => {
  await env?.stop()
  await agent?.stop()
  await haproxy?.stop()
  await consul?.stop()
  await gandi?.close()
  await pebble?.close()
  if (dir) await rm(dir, { recursive: true, force: true })
})

/** The SHA-256 fingerprint of the certificate HAProxy presents for `servername`. */
function servedFingerprint(servername: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port: httpsPort, servername, rejectUnauthorized: false }, () => {
      const cert = socket.getPeerCertificate()
      socket.end()
      resolve(createHash('sha256').update(cert.raw).digest('hex'))
    })
    socket.setTimeout(5000, () => socket.destroy(new Error('TLS handshake timed out')))
    socket.on('error', reject)
  })
}

async function servedCertificate(where: { instanceId: string | null; domainId?: string | null }) {
  return waitFor(
    `a delivered certificate for ${JSON.stringify(where)}`,
    async () => {
      const c = await env.db.certificate.findFirst({ where: { ...where, domainId: where.domainId ?? null } })
      return c?.state === 'valid' && c.deliveredFingerprint === c.fingerprint ? c : null
    },
    60_000,
    async () =>
      JSON.stringify(await env.db.certificate.findMany({ select: { hostnames: true, state: true, lastError: true, attempts: true } })),
  )
}

describe('domains and certificates end to end', () => {
  let instance: { id: string; slug: string; organizationId: string }

  it('creates DNS records for a new instance and obtains the zone and instance certificates by DNS-01', async () => {
    instance = await env.createInstance()
    const d = await createDeployment(env.orchestrator, { actor: staff, instanceId: instance.id })
    await waitFor('active', async () => (await env.db.deployment.findUniqueOrThrow({ where: { id: d.id } })).status === 'active', 30_000)
    await waitFor('records', async () => gandi.records(ZONE).some((r) => r.rrset_name === `studio.${instance.slug}`))
    expect(gandi.records(ZONE).find((r) => r.rrset_name === instance.slug)).toMatchObject({ rrset_type: 'A', rrset_values: ['127.0.0.1'] })

    const zoneCert = await servedCertificate({ instanceId: null })
    const own = await servedCertificate({ instanceId: instance.id })
    expect(zoneCert.hostnames).toEqual([ZONE, `*.${ZONE}`])
    expect(own.issuer).toMatch(/Pebble/i)
    // HAProxy serves the instance's own certificate for its hostnames (the most specific one wins)
    await waitFor(
      'served',
      async () => (await servedFingerprint(`studio.${instance.slug}.${ZONE}`).catch(() => '')) === own.fingerprint,
      20_000,
    )
    expect(await servedFingerprint(`${instance.slug}.${ZONE}`)).toBe(own.fingerprint)
    // the account key is stored encrypted
    const account = await env.db.acmeAccount.findFirstOrThrow()
    expect(account.accountKey).not.toMatch(/PRIVATE KEY/)
    expect(own.privateKey).not.toMatch(/PRIVATE KEY/)
  }, 120_000)

  let domainId: string
  it('verifies a custom domain only with the right TXT token, then certifies it by HTTP-01 through HAProxy', async () => {
    const hostname = 'learn.client.test'
    const domain = await addDomain(ctx, staff, instance.id, { hostname })
    domainId = domain.id
    await pebble.addA(hostname, ['127.0.0.1'])
    await pebble.setTxt(`_tenon-challenge.${hostname}`, 'tenon-verify=somebody-else')
    expect(await verifyDomain(ctx, domain.id, true)).toBe('not-found')
    expect((await env.db.domain.findUniqueOrThrow({ where: { id: domain.id } })).state).toBe('pending')
    await pebble.clearTxt(`_tenon-challenge.${hostname}`)
    await pebble.setTxt(`_tenon-challenge.${hostname}`, domain.verificationToken)
    expect(await verifyDomain(ctx, domain.id, true)).toBe('verified')

    const custom = await servedCertificate({ instanceId: instance.id, domainId: domain.id })
    expect(custom.challenge).toBe('http-01')
    expect(custom.hostnames).toEqual([hostname])
    await waitFor('custom served', async () => (await servedFingerprint(hostname).catch(() => '')) === custom.fingerprint, 20_000)
  }, 120_000)

  it("refuses another organization's claim on a verified hostname", async () => {
    const other = await env.createInstance()
    await expect(addDomain(ctx, staff, other.id, { hostname: 'learn.client.test' })).rejects.toMatchObject({ code: 'conflict' })
  })

  it('serves good uploaded certificates (RSA, EC, PKCS#12) and refuses bad ones, each with its own message', async () => {
    const corpus = await certificateCorpus()
    const domains = new Map<string, string>()
    for (const name of ['rsa', 'ecP256', 'ecP384', 'pkcs12'] as const) {
      const entry = corpus.good[name]
      let domainId = domains.get(entry.hostname)
      if (!domainId) {
        const domain = await addDomain(ctx, staff, instance.id, { hostname: entry.hostname })
        await pebble.setTxt(`_tenon-challenge.${entry.hostname}`, domain.verificationToken)
        expect(await verifyDomain(ctx, domain.id, true)).toBe('verified')
        domainId = domain.id
        domains.set(entry.hostname, domainId)
      }
      const upload = entry.upload
      const body = upload.format === 'pem' ? upload : { ...upload, bundle: upload.bundle.toString('base64') }
      const summary = await uploadCertificate(ctx, staff, domainId, body)
      expect(summary.source).toBe('uploaded')
      await waitFor(`${name} served`, async () => (await servedFingerprint(entry.hostname).catch(() => '')) === summary.fingerprint, 20_000)
    }
    const domain = { id: [...domains.values()][0]! }
    const wrongKey = corpus.bad.wrongKey.upload
    await expect(
      uploadCertificate(ctx, staff, domain.id, wrongKey.format === 'pem' ? wrongKey : { ...wrongKey, bundle: '' }),
    ).rejects.toMatchObject({
      code: 'invalid_input',
    })
  }, 120_000)

  it('renews a due certificate with the clock moved on and serves it without a reload', async () => {
    const before = await env.db.certificate.findFirstOrThrow({ where: { domainId } })
    const pidBefore = (await haproxy.control.processes()).workers
    const later = new Date(before.notAfter!.getTime() - 5 * 86_400_000)
    const future = createDomainContext({ ...env.orchestrator, now: () => later })
    const sweep = await renewCertificates(future)
    expect(sweep.queued).toBeGreaterThanOrEqual(1)
    const outcome = await issueCertificate(future, before.id)
    expect(outcome).toMatchObject({ outcome: 'issued' })
    const after = await env.db.certificate.findUniqueOrThrow({ where: { id: before.id } })
    expect(after.fingerprint).not.toBe(before.fingerprint)
    await waitFor(
      'renewed served',
      async () => (await servedFingerprint('learn.client.test').catch(() => '')) === after.fingerprint,
      20_000,
    )
    expect((await haproxy.control.processes()).workers).toEqual(pidBefore)
  }, 120_000)

  it('tells the client when an uploaded certificate nears expiry, and posts the alert to the webhook', async () => {
    const received: { kind: string; hostnames: string[]; organizationId: string | null }[] = []
    const hook = http.createServer((req, res) => {
      let body = ''
      req.on('data', (c: Buffer) => (body += c.toString()))
      req.on('end', () => {
        received.push(JSON.parse(body) as (typeof received)[number])
        res.end('ok')
      })
    })
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r))
    try {
      const port = (hook.address() as { port: number }).port
      // (the renewal test's sweep ran years ahead and already told everyone once)
      await env.db.certificate.updateMany({ where: { source: 'uploaded' }, data: { alertedAt: null } })
      const uploaded = await env.db.certificate.findFirstOrThrow({ where: { source: 'uploaded' }, orderBy: { notAfter: 'asc' } })
      const later = new Date(uploaded.notAfter!.getTime() - 5 * 86_400_000)
      const future = createDomainContext({
        ...env.orchestrator,
        config: { ...env.config, alerts: { webhookUrl: `http://127.0.0.1:${port}/alerts`, emails: [] } },
        now: () => later,
      })
      const sweep = await renewCertificates(future)
      expect(sweep.notified).toBeGreaterThanOrEqual(1)
      const alert = await env.db.auditEntry.findFirstOrThrow({ where: { targetId: uploaded.id, action: 'certificate.expiring' } })
      expect(alert.organizationId).toBe(instance.organizationId)
      expect(received).toContainEqual(expect.objectContaining({ kind: 'certificate.expiring', hostnames: uploaded.hostnames }))
      // once a day at most
      expect((await renewCertificates(future)).notified).toBe(0)
    } finally {
      hook.close()
    }
  }, 60_000)

  it('stops issuing before the rate limit would be hit', async () => {
    const fresh = await env.createInstance()
    const cert = await waitFor(
      'the new instance’s certificate row',
      () => env.db.certificate.findFirst({ where: { instanceId: fresh.id, domainId: null } }),
      30_000,
    )
    const tight = createDomainContext({
      ...env.orchestrator,
      config: { ...env.config, acme: { ...env.config.acme!, reserve: 0, limits: { ...env.config.acme!.limits, certificatesPerWeek: 2 } } },
    })
    const count = await env.db.acmeOrder.count({ where: { status: 'valid', renewal: false, registeredDomains: { has: ZONE } } })
    expect(count).toBeGreaterThanOrEqual(2)
    const outcome = await issueCertificate(tight, cert.id, true)
    expect(outcome).toMatchObject({ outcome: expect.stringMatching(/deferred|busy|gone/) })
    if (outcome.outcome === 'deferred') expect(outcome.reason).toMatch(/new certificates for hosting.test/)
  }, 60_000)

  it('backs off when the CA is unreachable and raises the alert', async () => {
    const cert = await servedCertificate({ instanceId: instance.id })
    const later = new Date(cert.notAfter!.getTime() - 5 * 86_400_000)
    const down = createDomainContext({
      ...env.orchestrator,
      config: { ...env.config, acme: { ...env.config.acme!, directoryUrl: 'https://127.0.0.1:1/dir' } },
      now: () => later,
    })
    const outcome = await issueCertificate(down, cert.id)
    expect(outcome).toMatchObject({ outcome: 'failed' })
    const failed = await env.db.certificate.findUniqueOrThrow({ where: { id: cert.id } })
    expect(failed.state).toBe('valid')
    expect(failed.nextAttemptAt!.getTime()).toBeGreaterThan(later.getTime())
    expect(failed.fingerprint).toBe(cert.fingerprint)
    const alert = await env.db.auditEntry.findFirst({ where: { targetId: cert.id, action: 'certificate.renewal_failed' } })
    expect(alert).not.toBeNull()
  }, 60_000)

  it("the zone's wildcard serves an instance's main hostname while it has no certificate of its own", async () => {
    const zoneCert = await servedCertificate({ instanceId: null })
    const own = await servedCertificate({ instanceId: instance.id })
    await env.db.certificate.delete({ where: { id: own.id } })
    expect(await removeDeliveredCertificate(ctx, own.id, instance.id)).toBe('removed')
    await waitFor(
      'zone served',
      async () => (await servedFingerprint(`${instance.slug}.${ZONE}`).catch(() => '')) === zoneCert.fingerprint,
      20_000,
    )
    // a wildcard stands for one label: studio.SLUG.ZONE is not the zone certificate's
    expect(await servedFingerprint(`studio.${instance.slug}.${ZONE}`).catch(() => 'none')).not.toBe(own.fingerprint)
  }, 60_000)
})
