import { createPrivateKey, generateKeyPairSync, X509Certificate } from 'node:crypto'
import http from 'node:http'
import https from 'node:https'
import net from 'node:net'
import forge from 'node-forge'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ariCertId, createAcmeCa, describeIssuedChain, splitPemChain } from '@/provisioners/acme'
import { AcmeProblemError, ProvisionerError, type AcmeChallengeSolver, type AcmeChallengeTask } from '@/provisioners/types'
import { startAriDouble, type AriDouble } from '../fakes/ari/server'
import { startPebble, type Pebble } from '../support/pebble'

/**
 * The ACME adapter against Pebble with real validation: DNS-01 answers go into pebble-challtestsrv's DNS, HTTP-01
 * answers are served by a Node server on the port Pebble validates on. ARI against the double in test/fakes/ari.
 */

const ecKey = () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
const rsaKey = () => generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
/** Pebble validates at once (PEBBLE_VA_NOSLEEP): look again quickly rather than after acme-client's default 5 s. */
const FAST_POLL = { minMs: 50, maxMs: 500, attempts: 10 }
const ACCOUNT_KEY = ecKey()
const ACCOUNT_KEY_BODY = ACCOUNT_KEY.split('\n')[1]!

/** A port nothing listens on right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

function httpsGetJson(url: string, ca: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca }, (response) => {
        let text = ''
        response.on('data', (chunk: Buffer) => (text += chunk.toString()))
        response.on('end', () => resolve(JSON.parse(text)))
      })
      .on('error', reject)
  })
}

/** A solver that records what it was asked, around the given effects. */
function recordingSolver(effects: { present(task: AcmeChallengeTask): Promise<void>; cleanup(task: AcmeChallengeTask): Promise<void> }) {
  const presented: AcmeChallengeTask[] = []
  const cleaned: AcmeChallengeTask[] = []
  const solver: AcmeChallengeSolver = {
    async present(task) {
      presented.push(task)
      await effects.present(task)
    },
    async cleanup(task) {
      cleaned.push(task)
      await effects.cleanup(task)
    },
  }
  return { solver, presented, cleaned }
}

/** DNS-01 through challtestsrv's management API, as a DNS provider would write the TXT record. */
function dnsSolver(pebble: Pebble, value?: (task: AcmeChallengeTask & { type: 'dns-01' }) => string) {
  return recordingSolver({
    async present(task) {
      if (task.type !== 'dns-01') throw new Error(`unexpected ${task.type}`)
      await pebble.setTxt(task.recordName, value ? value(task) : task.value)
    },
    async cleanup(task) {
      if (task.type === 'dns-01') await pebble.clearTxt(task.recordName)
    },
  })
}

/** The AKI keyIdentifier and serial of a certificate read with node-forge's ASN.1 parser (a second, independent reader). */
function forgeAkiAndSerial(der: Buffer): { aki: string | null; serial: string } {
  const cert = forge.asn1.fromDer(forge.util.createBuffer(der.toString('binary')))
  const asList = (node: forge.asn1.Asn1 | undefined) => (node && Array.isArray(node.value) ? node.value : [])
  const asBytes = (node: forge.asn1.Asn1 | undefined) => (node && typeof node.value === 'string' ? node.value : '')
  const tbs = asList(cert)[0]
  const fields = asList(tbs)
  const serial = fields[fields[0]?.tagClass === forge.asn1.Class.CONTEXT_SPECIFIC && fields[0].type === 0 ? 1 : 0]
  const extensions = fields.find((field) => field.tagClass === forge.asn1.Class.CONTEXT_SPECIFIC && field.type === 3)
  let aki: string | null = null
  for (const extension of asList(asList(extensions)[0])) {
    const parts = asList(extension)
    if (forge.asn1.derToOid(forge.util.createBuffer(asBytes(parts[0]))) !== '2.5.29.35') continue
    const value = forge.asn1.fromDer(forge.util.createBuffer(asBytes(parts[parts.length - 1])))
    const keyId = asList(value).find((part) => part.tagClass === forge.asn1.Class.CONTEXT_SPECIFIC && part.type === 0)
    aki = keyId ? forge.util.bytesToHex(asBytes(keyId)) : null
  }
  return { aki, serial: forge.util.bytesToHex(asBytes(serial)) }
}

function expectRetryableOutage(err: unknown, operation?: string) {
  expect(err).toBeInstanceOf(ProvisionerError)
  expect(err).not.toBeInstanceOf(AcmeProblemError)
  const error = err as ProvisionerError
  expect(error.provider).toBe('ACME')
  expect(error.retryable).toBe(true)
  if (operation) expect(error.operation).toBe(operation)
  expect(error.message).not.toContain(ACCOUNT_KEY_BODY)
}

let pebble: Pebble
let challengeServer: http.Server
/** HTTP-01 answers being served: token → key authorization */
const httpAnswers = new Map<string, string>()
const httpRequests: string[] = []

beforeAll(async () => {
  const httpPort = await freePort()
  challengeServer = http.createServer((request, response) => {
    httpRequests.push(`${request.headers.host} ${request.url}`)
    const token = /^\/\.well-known\/acme-challenge\/([A-Za-z0-9_-]+)$/.exec(request.url ?? '')?.[1]
    const answer = token ? httpAnswers.get(token) : undefined
    response.writeHead(answer ? 200 : 404, { 'content-type': 'text/plain' })
    response.end(answer ?? 'no such challenge')
  })
  await new Promise<void>((resolve) => challengeServer.listen(httpPort, '127.0.0.1', () => resolve()))
  pebble = await startPebble({ httpPort })
})

afterAll(async () => {
  await pebble?.close()
  await new Promise<void>((resolve) => (challengeServer ? challengeServer.close(() => resolve()) : resolve()))
})

describe('ACME adapter against Pebble', () => {
  it('registers the account once and finds it again by its key', async () => {
    const ca = createAcmeCa({
      directoryUrl: pebble.directoryUrl,
      accountKey: ACCOUNT_KEY,
      email: 'ops@hosting.test',
      caBundle: pebble.caBundle,
    })
    const url = await ca.ensureAccount()
    expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\//)
    expect(await ca.ensureAccount()).toBe(url)
    const again = createAcmeCa({ directoryUrl: pebble.directoryUrl, accountKey: ACCOUNT_KEY, caBundle: pebble.caBundle })
    expect(await again.ensureAccount()).toBe(url)
    const other = createAcmeCa({ directoryUrl: pebble.directoryUrl, accountKey: ecKey(), caBundle: pebble.caBundle })
    expect(await other.ensureAccount()).not.toBe(url)
  })

  it('issues a wildcard and apex certificate by dns-01, with a chain up to Pebble’s root', async () => {
    const lines: string[] = []
    const ca = createAcmeCa({
      directoryUrl: pebble.directoryUrl,
      accountKey: ACCOUNT_KEY,
      caBundle: pebble.caBundle,
      poll: FAST_POLL,
      log: (line) => lines.push(line),
    })
    const privateKey = ecKey()
    const { solver, presented, cleaned } = dnsSolver(pebble)
    const issued = await ca.issue({ hostnames: ['*.hosting.test', 'hosting.test'], challenge: 'dns-01', privateKey }, solver)

    // two authorizations for the one name hosting.test: both TXT values were in place together, then both removed
    expect(presented.map((task) => task.type === 'dns-01' && task.recordName).sort()).toEqual([
      '_acme-challenge.hosting.test',
      '_acme-challenge.hosting.test',
    ])
    expect(presented.every((task) => task.identifier === 'hosting.test')).toBe(true)
    expect(cleaned).toEqual(presented)

    const chain = splitPemChain(issued.certificate).map((pem) => new X509Certificate(pem))
    const [rootPem, intermediatePem] = await pebble.issuingRoots()
    const root = new X509Certificate(rootPem!)
    const intermediate = new X509Certificate(intermediatePem!)
    const leaf = chain[0]!
    expect(chain).toHaveLength(2)
    expect(chain[1]!.fingerprint256).toBe(intermediate.fingerprint256)
    expect(leaf.verify(intermediate.publicKey)).toBe(true)
    expect(intermediate.verify(root.publicKey)).toBe(true)
    expect(root.verify(root.publicKey)).toBe(true)
    expect(leaf.subjectAltName?.split(', ').sort()).toEqual(['DNS:*.hosting.test', 'DNS:hosting.test'])
    expect(leaf.checkPrivateKey(createPrivateKey(privateKey))).toBe(true)

    expect(issued.fingerprint).toBe(leaf.fingerprint256.replaceAll(':', '').toLowerCase())
    expect(issued.serial).toBe(leaf.serialNumber.toLowerCase())
    expect(issued.notBefore).toBe(new Date(leaf.validFrom).toISOString())
    expect(issued.notAfter).toBe(new Date(leaf.validTo).toISOString())
    expect(issued.issuer).toMatch(/^Pebble Intermediate CA /)

    const independent = forgeAkiAndSerial(leaf.raw)
    expect(independent.aki).toMatch(/^[0-9a-f]{40}$/)
    expect(issued.ariCertId).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/)
    expect(issued.ariCertId).toBe(
      `${Buffer.from(independent.aki!, 'hex').toString('base64url')}.${Buffer.from(independent.serial, 'hex').toString('base64url')}`,
    )
    expect(lines.join('\n')).not.toContain(ACCOUNT_KEY_BODY)
    expect(lines.some((line) => line.includes('certificate issued'))).toBe(true)
  })

  it('issues a certificate by http-01, served from the port Pebble validates on', async () => {
    await pebble.addA('www.client-site.test', ['127.0.0.1'])
    const ca = createAcmeCa({ directoryUrl: pebble.directoryUrl, accountKey: ACCOUNT_KEY, caBundle: pebble.caBundle, poll: FAST_POLL })
    const privateKey = rsaKey()
    const { solver, presented, cleaned } = recordingSolver({
      async present(task) {
        if (task.type !== 'http-01') throw new Error(`unexpected ${task.type}`)
        httpAnswers.set(task.token, task.keyAuthorization)
      },
      async cleanup(task) {
        if (task.type === 'http-01') httpAnswers.delete(task.token)
      },
    })
    const issued = await ca.issue({ hostnames: ['WWW.Client-Site.test'], challenge: 'http-01', privateKey }, solver)

    expect(presented).toHaveLength(1)
    const task = presented[0]!
    expect(task).toMatchObject({ type: 'http-01', identifier: 'www.client-site.test' })
    expect(httpRequests).toContain(
      `www.client-site.test:${pebble.httpPort} /.well-known/acme-challenge/${task.type === 'http-01' && task.token}`,
    )
    expect(cleaned).toEqual(presented)
    expect(httpAnswers.size).toBe(0)
    const leaf = new X509Certificate(splitPemChain(issued.certificate)[0]!)
    expect(leaf.subjectAltName).toBe('DNS:www.client-site.test')
    expect(leaf.checkPrivateKey(createPrivateKey(privateKey))).toBe(true)
  })

  it('names the hostname whose validation failed, and still removes the answers', async () => {
    const ca = createAcmeCa({ directoryUrl: pebble.directoryUrl, accountKey: ACCOUNT_KEY, caBundle: pebble.caBundle, poll: FAST_POLL })
    const { solver, presented, cleaned } = dnsSolver(pebble, () => 'not-the-right-value')
    const failure = await ca
      .issue({ hostnames: ['good.hosting.test', 'fail.hosting.test'], challenge: 'dns-01', privateKey: ecKey() }, solver)
      .catch((err: unknown) => err)

    expect(failure).toBeInstanceOf(AcmeProblemError)
    const error = failure as AcmeProblemError
    expect(error.operation).toBe('validate')
    expect(error.problemType).toMatch(/^urn:ietf:params:acme:error:/)
    // the wrong value was written for both names: both fail, each named
    expect(error.failedHostnames.sort()).toEqual(['fail.hosting.test', 'good.hosting.test'])
    expect(error.message).toContain('fail.hosting.test')
    expect(error.retryable).toBe(false)
    expect(error.message).not.toContain(ACCOUNT_KEY_BODY)
    expect(presented).toHaveLength(2)
    expect(cleaned).toEqual(presented)
  })

  it('issues again for a name it issued before, validating it again', async () => {
    // PEBBLE_AUTHZREUSE=0: every order is validated again, so each issuance presents every name
    const ca = createAcmeCa({ directoryUrl: pebble.directoryUrl, accountKey: ACCOUNT_KEY, caBundle: pebble.caBundle, poll: FAST_POLL })
    const first = dnsSolver(pebble)
    await ca.issue({ hostnames: ['again.hosting.test'], challenge: 'dns-01', privateKey: ecKey() }, first.solver)
    const second = dnsSolver(pebble)
    await ca.issue({ hostnames: ['again.hosting.test'], challenge: 'dns-01', privateKey: ecKey() }, second.solver)
    expect(first.presented).toHaveLength(1)
    expect(second.presented).toHaveLength(1)
  })

  it('refuses an order it can tell is wrong before asking the CA', async () => {
    const ca = createAcmeCa({ directoryUrl: pebble.directoryUrl, accountKey: ACCOUNT_KEY, caBundle: pebble.caBundle })
    const { solver, presented } = dnsSolver(pebble)
    const privateKey = ecKey()
    for (const request of [
      { hostnames: ['*.hosting.test'], challenge: 'http-01' as const, privateKey },
      { hostnames: [], challenge: 'dns-01' as const, privateKey },
      { hostnames: ['a.hosting.test', 'A.hosting.test'], challenge: 'dns-01' as const, privateKey },
      { hostnames: ['not a name'], challenge: 'dns-01' as const, privateKey },
      { hostnames: ['a.hosting.test'], challenge: 'dns-01' as const, privateKey: 'nonsense' },
    ]) {
      const failure = await ca.issue(request, solver).catch((err: unknown) => err)
      expect(failure).toBeInstanceOf(ProvisionerError)
      expect((failure as ProvisionerError).retryable).toBe(false)
      expect((failure as ProvisionerError).operation).toBe('issue')
    }
    expect(presented).toHaveLength(0)
  })

  it('fails retryably when the CA is unreachable or silent', async () => {
    const closed = await freePort()
    const unreachable = createAcmeCa({
      directoryUrl: `https://127.0.0.1:${closed}/dir`,
      accountKey: ACCOUNT_KEY,
      caBundle: pebble.caBundle,
    })
    expectRetryableOutage(await unreachable.ensureAccount().catch((err: unknown) => err), 'new-account')
    const { solver, presented } = dnsSolver(pebble)
    expectRetryableOutage(
      await unreachable
        .issue({ hostnames: ['x.hosting.test'], challenge: 'dns-01', privateKey: ecKey() }, solver)
        .catch((err: unknown) => err),
    )
    expectRetryableOutage(await unreachable.renewalInfo('aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE').catch((err: unknown) => err), 'directory')
    expect(presented).toHaveLength(0)

    // accepts connections and never answers
    const sockets = new Set<net.Socket>()
    const silent = net.createServer((socket) => sockets.add(socket))
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', () => resolve()))
    try {
      const address = silent.address()
      const port = typeof address === 'object' && address ? address.port : 0
      const ca = createAcmeCa({ directoryUrl: `https://127.0.0.1:${port}/dir`, accountKey: ACCOUNT_KEY, timeoutMs: 300 })
      const failure = await ca.ensureAccount().catch((err: unknown) => err)
      expectRetryableOutage(failure, 'new-account')
      expect((failure as Error).message).toContain('ETIMEDOUT')
    } finally {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => silent.close(() => resolve()))
    }
  })

  it('does not trust Pebble’s HTTPS without its CA, and says so', async () => {
    const ca = createAcmeCa({ directoryUrl: pebble.directoryUrl, accountKey: ACCOUNT_KEY })
    const failure = await ca.ensureAccount().catch((err: unknown) => err)
    expect(failure).toBeInstanceOf(ProvisionerError)
    expect((failure as ProvisionerError).retryable).toBe(false)
    expect((failure as Error).message).toContain('caBundle')
  })

  it('has no renewal information from a CA without ARI, and leaves replaces out of its orders', async () => {
    const ca = createAcmeCa({ directoryUrl: pebble.directoryUrl, accountKey: ACCOUNT_KEY, caBundle: pebble.caBundle, poll: FAST_POLL })
    const first = await ca.issue({ hostnames: ['renew.hosting.test'], challenge: 'dns-01', privateKey: ecKey() }, dnsSolver(pebble).solver)
    expect(await ca.renewalInfo(first.ariCertId!)).toBeNull()
    const renewed = await ca.issue(
      { hostnames: ['renew.hosting.test'], challenge: 'dns-01', privateKey: ecKey(), replaces: first.ariCertId! },
      dnsSolver(pebble).solver,
    )
    expect(renewed.serial).not.toBe(first.serial)
  })
})

describe('ACME renewal information (RFC 9773) against the ARI double', () => {
  let ari: AriDouble

  beforeAll(async () => {
    ari = await startAriDouble({ upstreamDirectory: await httpsGetJson(pebble.directoryUrl, pebble.caBundle) })
  })
  afterAll(async () => {
    await ari?.stop()
  })

  const caOnDouble = () =>
    createAcmeCa({ directoryUrl: ari.directoryUrl, accountKey: ACCOUNT_KEY, caBundle: pebble.caBundle, poll: FAST_POLL })

  it('reads the suggested window and when to ask again', async () => {
    const certId = 'aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE'
    ari.setWindow(certId, { start: '2027-01-02T04:00:00Z', end: '2027-01-03T04:00:00+02:00', explanationURL: 'https://ca.test/why' }, 3600)
    const info = await caOnDouble().renewalInfo(certId)
    expect(info).toEqual({
      start: '2027-01-02T04:00:00.000Z',
      end: '2027-01-03T02:00:00.000Z',
      retryAfterMs: 3_600_000,
      explanationUrl: 'https://ca.test/why',
    })
    expect(ari.requests).toContain(`GET /renewal-info/${certId}`)
  })

  it('answers null for a certificate the CA has no window for, and refuses what is not a certificate id', async () => {
    const ca = caOnDouble()
    expect(await ca.renewalInfo('AAAA.AAAA')).toBeNull()
    const failure = await ca.renewalInfo('../../etc').catch((err: unknown) => err)
    expect(failure).toBeInstanceOf(ProvisionerError)
    expect((failure as ProvisionerError).retryable).toBe(false)
  })

  it('sends replaces to a CA with ARI, and reports alreadyReplaced as a problem', async () => {
    const certId = 'aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE'
    ari.markReplaced(certId)
    const { solver, presented } = dnsSolver(pebble)
    const failure = await caOnDouble()
      .issue({ hostnames: ['renew.hosting.test'], challenge: 'dns-01', privateKey: ecKey(), replaces: certId }, solver)
      .catch((err: unknown) => err)
    expect(failure).toBeInstanceOf(AcmeProblemError)
    expect((failure as AcmeProblemError).problemType).toBe('urn:ietf:params:acme:error:alreadyReplaced')
    expect((failure as AcmeProblemError).operation).toBe('new-order')
    expect((failure as AcmeProblemError).retryable).toBe(false)
    expect(ari.orders.at(-1)).toEqual({ identifiers: [{ type: 'dns', value: 'renew.hosting.test' }], replaces: certId })
    expect(presented).toHaveLength(0)
  })

  it('reports a rate limit with its Retry-After, retryable', async () => {
    ari.answerOrdersWith({
      status: 429,
      type: 'urn:ietf:params:acme:error:rateLimited',
      detail: 'too many certificates for hosting.test',
      retryAfterSeconds: 60,
    })
    const failure = await caOnDouble()
      .issue({ hostnames: ['limited.hosting.test'], challenge: 'dns-01', privateKey: ecKey() }, dnsSolver(pebble).solver)
      .catch((err: unknown) => err)
    expect(failure).toBeInstanceOf(AcmeProblemError)
    const error = failure as AcmeProblemError
    expect(error.rateLimited).toBe(true)
    expect(error.retryable).toBe(true)
    expect(error.retryAfterMs).toBe(60_000)
    expect(error.message).toContain('too many certificates')
  })

  it('reports a CA outage (5xx) as retryable', async () => {
    ari.answerOrdersWith({ status: 503, type: 'urn:ietf:params:acme:error:serverInternal', detail: 'maintenance', retryAfterSeconds: 120 })
    const failure = await caOnDouble()
      .issue({ hostnames: ['down.hosting.test'], challenge: 'dns-01', privateKey: ecKey() }, dnsSolver(pebble).solver)
      .catch((err: unknown) => err)
    expect(failure).toBeInstanceOf(ProvisionerError)
    expect((failure as ProvisionerError).retryable).toBe(true)
    expect((failure as ProvisionerError).retryAfterMs).toBe(120_000)
  })
})

describe('ARI certificate ids', () => {
  const forgeKeys = () => {
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048 })
    return {
      privateKey: forge.pki.privateKeyFromPem(pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()),
      publicKey: forge.pki.publicKeyFromPem(pair.publicKey.export({ type: 'spki', format: 'pem' }).toString()),
    }
  }
  const makeCertificate = (serial: string, extensions: object[]) => {
    const keys = forgeKeys()
    const cert = forge.pki.createCertificate()
    cert.publicKey = keys.publicKey
    cert.serialNumber = serial
    cert.validity.notBefore = new Date('2026-01-01T00:00:00Z')
    cert.validity.notAfter = new Date('2060-01-01T00:00:00Z') // GeneralizedTime from 2050 on
    cert.setSubject([{ name: 'commonName', value: 'ari.test' }])
    cert.setIssuer([{ name: 'commonName', value: 'ari.test' }])
    cert.setExtensions(extensions)
    cert.sign(keys.privateKey, forge.md.sha256.create())
    return { pem: forge.pki.certificateToPem(cert), privateKey: forge.pki.privateKeyToPem(keys.privateKey) }
  }

  it('encodes RFC 9773’s example (AKI 69:88:5B…, serial 00:87:65:43:21)', () => {
    const { pem, privateKey } = makeCertificate('0087654321', [
      { name: 'authorityKeyIdentifier', keyIdentifier: forge.util.hexToBytes('69885b6b87464041e1b37b847ba0ae2cde01c8d4'), critical: true },
    ])
    expect(ariCertId(new X509Certificate(pem).raw)).toBe('aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE')
    const described = describeIssuedChain(pem, privateKey)
    expect(described.serial).toBe('87654321')
    expect(described.notBefore).toBe('2026-01-01T00:00:00.000Z')
    expect(described.notAfter).toBe('2060-01-01T00:00:00.000Z')
    expect(described.issuer).toBe('ari.test')
  })

  it('is null for a certificate without an authority key identifier', () => {
    const { pem } = makeCertificate('01', [{ name: 'basicConstraints', cA: false }])
    expect(ariCertId(new X509Certificate(pem).raw)).toBeNull()
  })

  it('refuses a chain whose leaf does not carry the order’s key', () => {
    const { pem } = makeCertificate('02', [])
    expect(() => describeIssuedChain(pem, ecKey())).toThrow(/public key/)
  })
})
