import { randomBytes, randomUUID } from 'node:crypto'
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises'
import http from 'node:http'
import https from 'node:https'
import os from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import tls from 'node:tls'
import pino from 'pino'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { EMPTY_ROUTING, startLbAgent, type LbAgent } from '@/lb-agent/agent'
import type { HaproxyControl } from '@/lb-agent/haproxy'
import { CERTIFICATES_DIR, renderHaproxy, type RenderOptions } from '@/lb-agent/render'
import { createSecretBox, type SecretBox } from '@/lib/secrets/cipher'
import { consulKeys, ZAgentReport, ZRoutedCertificate, type AgentReport } from '@/provisioners/consul/layout'
import { createConsulRouter, type ConsulRouter } from '@/provisioners/consul/router'
import type { DeliveredCertificate, DesiredRouting, RoutedCertificateRef, RoutingBackend } from '@/provisioners/types'
import { startConsulDouble, type ConsulDouble } from '@/test/fakes/consul/server'
import {
  FAST_AGENT_TIMINGS,
  freePort,
  startHaproxy,
  testCertificate,
  testRenderOptions,
  type StartedHaproxy,
  type TestCertificate,
} from '@/test/support/haproxy'
import { rejection } from '@/test/support/rejection'

/**
 * Certificates and HTTP-01 answers end to end: the consul router puts them in the Consul double (keys encrypted for the
 * agents), the agent decrypts and installs them in a real HAProxy, and TLS handshakes by SNI show which certificate is
 * served. Renewals and new certificates go through the runtime API: the same HAProxy worker keeps running.
 */
const TOKEN = `consul-token-${randomUUID()}`
let consul: ConsulDouble
const cleanups: (() => Promise<unknown> | unknown)[] = []
const keyRing: SecretBox = createSecretBox([{ id: 'lb1', key: randomBytes(32) }])

beforeAll(async () => {
  consul = await startConsulDouble({ token: TOKEN })
})

afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn()
})

afterAll(async () => {
  await consul?.stop()
})

// ---------------------------------------------------------------------------------------------------------------------

interface Node {
  prefix: string
  router: ConsulRouter
  dir: string
  render: RenderOptions
  haproxy: StartedHaproxy
  agent: LbAgent
  logs: () => string
  /** apply methods, in order */
  methods: string[]
  report(): AgentReport | undefined
  workers(): Promise<number[]>
}

/** A cluster of one load-balancer node (own KV prefix, own HAProxy with HTTPS, own agent) and its router. */
async function node(options: { keys?: SecretBox | null } = {}): Promise<Node> {
  const prefix = `c${randomUUID().slice(0, 8)}`
  const router = createConsulRouter({
    address: consul.url,
    token: TOKEN,
    prefix,
    timeoutMs: 3000,
    applyTimeoutMs: 20_000,
    agentStaleMs: 30_000,
    pollMs: 20,
  })
  cleanups.push(() => router.close())
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lb-certs-'))
  cleanups.push(() => rm(dir, { recursive: true, force: true }))
  const render = testRenderOptions(dir, await freePort(), { nodeName: 'lb-tls', httpsPort: await freePort() })
  const haproxy = await startHaproxy({ configDir: dir, rendered: renderHaproxy(EMPTY_ROUTING, render) })
  cleanups.push(() => haproxy.stop())
  const raw: string[] = []
  const methods: string[] = []
  const control: HaproxyControl = {
    ...haproxy.control,
    async apply(rendered, plan) {
      const result = await haproxy.control.apply(rendered, plan)
      methods.push(result.method)
      return result
    },
  }
  const agent = startLbAgent({
    consul: { address: consul.url, token: TOKEN },
    prefix,
    render,
    haproxy: control,
    ...FAST_AGENT_TIMINGS,
    log: pino({ level: 'debug' }, { write: (line: string) => void raw.push(line) }),
    certificateKeys: options.keys === null ? undefined : (options.keys ?? keyRing),
    publicAddresses: ['203.0.113.10', '2001:db8::10'],
  })
  cleanups.push(() => agent.stop())
  await agent.ready()
  const keys = consulKeys(prefix)
  return {
    prefix,
    router,
    dir,
    render,
    haproxy,
    agent,
    logs: () => raw.join(''),
    methods,
    report() {
      const entry = consul.state.get(keys.agent('lb-tls'))
      return entry ? ZAgentReport.parse(JSON.parse(entry.value)) : undefined
    },
    workers: async () => (await haproxy.control.processes()).workers,
  }
}

/** A tiny appserver answering every request with its name. */
async function appserver(name: string): Promise<RoutingBackend> {
  const server = http.createServer((_req, res) => res.end(name))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  )
  const address = server.address()
  if (!address || typeof address === 'string') throw new Error('the appserver has no TCP address')
  return { appserverId: `${name}-${randomUUID().slice(0, 8)}`, address: `http://127.0.0.1:${address.port}`, role: 'active' }
}

function routing(
  instanceId: string,
  hostnames: string[],
  backends: RoutingBackend[],
  certificates: RoutedCertificateRef[] = [],
): DesiredRouting {
  return {
    instanceId,
    slug: `s-${instanceId.slice(0, 6)}`,
    hostnames,
    backends,
    healthPath: '/heartbeat',
    maintenance: false,
    certificates,
  }
}

function delivered(id: string, cert: TestCertificate): DeliveredCertificate {
  return {
    id,
    certificate: cert.certificate,
    keyCiphertext: keyRing.encrypt(cert.key),
    fingerprint: cert.fingerprint,
    notAfter: cert.notAfter,
  }
}

/** The SHA-256 fingerprint (lower-case hex) of the certificate HAProxy presents for `servername`. */
function servedFingerprint(port: number, servername: string): Promise<string> {
  return new Promise((resolve, reject) => {
    // Trust is not the question here: which certificate HAProxy picks for the name is.
    const socket = tls.connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false }, () => {
      const fingerprint = socket.getPeerCertificate().fingerprint256.replaceAll(':', '').toLowerCase()
      socket.end()
      resolve(fingerprint)
    })
    socket.setTimeout(5000, () => socket.destroy(new Error('TLS handshake timed out')))
    socket.on('error', reject)
  })
}

function get(options: { port: number; host: string; path?: string; tls?: boolean }): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = options.tls ? https.request : http.request
    const req = request(
      {
        host: '127.0.0.1',
        port: options.port,
        path: options.path ?? '/',
        headers: { host: options.host },
        agent: false,
        ...(options.tls ? { servername: options.host, rejectUnauthorized: false } : {}),
      },
      (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => (body += chunk))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
        res.on('error', reject)
      },
    )
    req.setTimeout(5000, () => req.destroy(new Error('timed out')))
    req.on('error', reject)
    req.end()
  })
}

async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(20)
  }
}

const keyBody = (pem: string) => pem.split('\n')[1] ?? pem

// ---------------------------------------------------------------------------------------------------------------------

describe('certificates on the load balancers', () => {
  it('serves each hostname its certificate by SNI; a renewal and a new certificate need no reload', async () => {
    const lb = await node()
    const httpsPort = lb.render.httpsPort ?? 0
    const [one, two] = [testCertificate(['one.tls.test']), testCertificate(['two.tls.test', 'www.two.tls.test'])]
    const app = await appserver('app')
    const [a, b] = [randomUUID(), randomUUID()]

    // Delivered before any instance uses them: held in Consul (key encrypted), nothing for HAProxy yet.
    await lb.router.certificates.putCertificate(delivered('cert-one', one))
    await lb.router.certificates.putCertificate(delivered('cert-two', two))
    for (const id of ['cert-one', 'cert-two']) {
      const raw = consul.state.get(consulKeys(lb.prefix).certificate(id))?.value ?? ''
      expect(raw).not.toContain('PRIVATE KEY')
      expect(raw).not.toContain(keyBody(one.key))
      expect(ZRoutedCertificate.parse(JSON.parse(raw)).keyCiphertext).toMatch(/^v1\.lb1\./)
    }
    expect((await lb.router.certificates.listCertificates()).sort((x, y) => x.id.localeCompare(y.id))).toEqual([
      { id: 'cert-one', fingerprint: one.fingerprint },
      { id: 'cert-two', fingerprint: two.fingerprint },
    ])
    expect(await readdir(path.join(lb.dir, CERTIFICATES_DIR))).toEqual([])

    // The first certificate in use: HTTPS starts (a reload).
    await lb.router.publish(routing(a, ['one.tls.test'], [app], [{ id: 'cert-one', hostnames: ['one.tls.test'] }]))
    await lb.router.publish(routing(b, ['two.tls.test', 'www.two.tls.test'], [app]))
    expect(await servedFingerprint(httpsPort, 'one.tls.test')).toBe(one.fingerprint)
    expect(await get({ port: httpsPort, host: 'one.tls.test', tls: true })).toEqual({ status: 200, body: 'app' })
    const file = path.join(lb.dir, CERTIFICATES_DIR, 'cert-one.pem')
    expect((await stat(file)).mode & 0o777).toBe(0o600)
    // The key, then the chain (leaf, then the CA), in PEM lines as HAProxy reads them.
    const lines = (pem: string) => pem.split(/\r?\n/).filter(Boolean)
    expect(await readFile(file, 'utf8')).toBe([...lines(one.key), ...lines(one.certificate), ''].join('\n'))
    const workers = await lb.workers()

    // A second certificate while HTTPS runs: installed at run time, the same worker serves it.
    await lb.router.publish(
      routing(b, ['two.tls.test', 'www.two.tls.test'], [app], [{ id: 'cert-two', hostnames: ['two.tls.test', 'www.two.tls.test'] }]),
    )
    expect(lb.agent.applied().method).toBe('runtime')
    expect(await servedFingerprint(httpsPort, 'two.tls.test')).toBe(two.fingerprint)
    expect(await servedFingerprint(httpsPort, 'www.two.tls.test')).toBe(two.fingerprint)
    expect(await servedFingerprint(httpsPort, 'one.tls.test')).toBe(one.fingerprint)

    // Renewal: a new certificate under the same id. putCertificate resolves once the node serves it, without a reload.
    const renewed = testCertificate(['one.tls.test'])
    await lb.router.certificates.putCertificate(delivered('cert-one', renewed))
    expect(lb.agent.applied().method).toBe('runtime')
    expect(await servedFingerprint(httpsPort, 'one.tls.test')).toBe(renewed.fingerprint)
    expect(await lb.workers()).toEqual(workers)
    // The same certificate with its key encrypted again: no new revision, nothing to do.
    const revision = lb.agent.applied().revision
    await lb.router.certificates.putCertificate(delivered('cert-one', renewed))
    expect(lb.agent.applied().revision).toBe(revision)

    // A certificate no longer used (not HAProxy's default): removed at run time, its key gone from the disk.
    await lb.router.publish(routing(b, ['two.tls.test', 'www.two.tls.test'], [app]))
    expect(lb.agent.applied().method).toBe('runtime')
    expect(await servedFingerprint(httpsPort, 'two.tls.test')).toBe(renewed.fingerprint) // the default certificate now
    expect(await readdir(path.join(lb.dir, CERTIFICATES_DIR))).toEqual(['cert-one.pem'])
    await lb.router.certificates.removeCertificate('cert-two')
    await lb.router.certificates.removeCertificate('cert-two') // idempotent
    expect(await lb.router.certificates.listCertificates()).toEqual([{ id: 'cert-one', fingerprint: renewed.fingerprint }])
    expect(await lb.workers()).toEqual(workers)

    // Still used: refused by the router (the agents would refuse every later revision).
    const used = await rejection(lb.router.certificates.removeCertificate('cert-one'))
    expect(used.message).toContain(`certificate cert-one is still used by instance ${a}`)

    // HAProxy's default certificate is the first it loaded (cert-one), not the first line of the file: cert-0, added at
    // run time and sorting first, is removed at run time too.
    const zero = testCertificate(['two.tls.test'])
    await lb.router.certificates.putCertificate(delivered('cert-0', zero))
    await lb.router.publish(routing(b, ['two.tls.test', 'www.two.tls.test'], [app], [{ id: 'cert-0', hostnames: ['two.tls.test'] }]))
    expect(lb.agent.applied().method).toBe('runtime')
    expect(await servedFingerprint(httpsPort, 'two.tls.test')).toBe(zero.fingerprint)
    await lb.router.publish(routing(b, ['two.tls.test', 'www.two.tls.test'], [app]))
    expect(lb.agent.applied().method).toBe('runtime')
    expect(await lb.workers()).toEqual(workers)
    // The last certificate going: the HTTPS frontend stops (a reload).
    await lb.router.publish(routing(a, ['one.tls.test'], [app]))
    expect(lb.agent.applied().method).toBe('reload')
    await expect(servedFingerprint(httpsPort, 'one.tls.test')).rejects.toThrow()

    expect(lb.report()).toMatchObject({ lastError: null, publicAddresses: ['203.0.113.10', '2001:db8::10'] })
    const logs = lb.logs()
    for (const cert of [one, two, renewed, zero]) expect(logs).not.toContain(keyBody(cert.key))
    // Every runtime plan worked as planned: none fell back to a reload.
    expect(logs).not.toContain('runtime commands refused')
  })

  it('answers an HTTP-01 challenge for any Host once putChallenge resolves, and no longer after removeChallenge or its expiry', async () => {
    const lb = await node()
    const port = lb.render.httpPort
    const token = randomBytes(24).toString('base64url')
    const keyAuthorization = `${token}.${randomBytes(32).toString('base64url')}`
    const url = `/.well-known/acme-challenge/${token}`
    const workers = await lb.workers()
    expect((await get({ port, host: 'custom.example.org', path: url })).status).toBe(404)

    await lb.router.certificates.putChallenge({
      token,
      keyAuthorization,
      hostname: 'custom.example.org',
      expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
    })
    expect(lb.agent.applied().method).toBe('runtime')
    for (const host of ['custom.example.org', 'anything.else', '127.0.0.1'])
      expect(await get({ port, host, path: url })).toEqual({ status: 200, body: keyAuthorization })
    expect((await get({ port, host: 'custom.example.org', path: `${url}x` })).status).toBe(404)

    await lb.router.certificates.removeChallenge(token)
    await lb.router.certificates.removeChallenge(token) // idempotent
    expect((await get({ port, host: 'custom.example.org', path: url })).status).toBe(404)

    // An abandoned challenge stops being answered when it expires, without anything changing in Consul.
    const short = randomBytes(24).toString('base64url')
    await lb.router.certificates.putChallenge({
      token: short,
      keyAuthorization: `${short}.thumb`,
      hostname: 'custom.example.org',
      expiresAt: new Date(Date.now() + 1500).toISOString(),
    })
    expect(await get({ port, host: 'x', path: `/.well-known/acme-challenge/${short}` })).toEqual({ status: 200, body: `${short}.thumb` })
    await until(async () => (await get({ port, host: 'x', path: `/.well-known/acme-challenge/${short}` })).status === 404, 'the expiry')
    expect(await lb.workers()).toEqual(workers)
  })

  it('refuses certificates it cannot use: no key ring, a key ring without the key, a certificate missing for an instance', async () => {
    const bare = await node({ keys: null })
    const cert = testCertificate(['bare.tls.test'])
    const noRing = await rejection(bare.router.certificates.putCertificate(delivered('cert-bare', cert)))
    expect(noRing.message).toMatch(
      /load balancer lb-tls could not apply revision \d+: certificate cert-bare arrived, but this agent has no LB_CERTIFICATE_KEYS/,
    )
    expect(bare.report()?.lastError).not.toContain(keyBody(cert.key))

    const other = await node({ keys: createSecretBox([{ id: 'lb1', key: randomBytes(32) }]) })
    const wrongKey = await rejection(other.router.certificates.putCertificate(delivered('cert-x', cert)))
    expect(wrongKey.message).toMatch(/certificate cert-x: its private key does not decrypt with LB_CERTIFICATE_KEYS \(key id "lb1"/)

    const lb = await node()
    const app = await appserver('app')
    const id = randomUUID()
    const missing = await rejection(lb.router.publish(routing(id, ['m.tls.test'], [app], [{ id: 'nowhere', hostnames: ['m.tls.test'] }])))
    expect(missing.message).toContain(`instance ${id}: certificate nowhere is not under routing/certificates/`)
    // The next good revision is applied.
    await lb.router.publish(routing(id, ['m.tls.test'], [app]))
    expect(await get({ port: lb.render.httpPort, host: 'm.tls.test' })).toEqual({ status: 200, body: 'app' })
  })
})
