import { spawn } from 'node:child_process'
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto'
import { access, constants } from 'node:fs/promises'
import net from 'node:net'
import path from 'node:path'
import forge from 'node-forge'
import { createHaproxyControl, type HaproxyControl } from '@/lb-agent/haproxy'
import type { RenderedHaproxy, RenderOptions } from '@/lb-agent/render'

export const HAPROXY_BIN = '/usr/sbin/haproxy'

export interface StartedHaproxy {
  /** the HTTP port of the frontend (read from the rendered `bind` line) */
  port: number
  control: HaproxyControl
  statsSocket: string
  masterSocket: string
  /** what HAProxy printed so far (its notices, warnings and alerts) */
  output(): string
  stop(): Promise<void>
}

/** A port nothing listens on right now. */
export function freePort(): Promise<number> {
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

/** An agent's timings for tests: quick heartbeats and short waits, so a stopped Consul or agent is noticed fast. */
export const FAST_AGENT_TIMINGS = {
  heartbeatMs: 300,
  waitMs: 5000,
  requestTimeoutMs: 2000,
  backoff: { initialMs: 50, maxMs: 500 },
} as const

/** Render options for a test HAProxy living in `configDir`, on 127.0.0.1 and fast health checks. */
export function testRenderOptions(configDir: string, httpPort: number, overrides: Partial<RenderOptions> = {}): RenderOptions {
  return {
    nodeName: 'test-lb',
    bindAddress: '127.0.0.1',
    httpPort,
    configDir,
    statsSocket: path.join(configDir, 'stats.sock'),
    healthCheck: { interMs: 500, fall: 2, rise: 1 },
    timeouts: { hardStopAfterMs: 30_000 },
    ...overrides,
  }
}

/**
 * Writes the initial files (validated, as the agent would) and starts HAProxy in master-worker mode as a foreground
 * child: `haproxy -W -S <configDir>/master.sock -f <configDir>/haproxy.cfg`. Resolves once the worker answers on its
 * admin socket. A missing binary fails the test with the command that installs it.
 */
export async function startHaproxy({ configDir, rendered }: { configDir: string; rendered: RenderedHaproxy }): Promise<StartedHaproxy> {
  await access(HAPROXY_BIN, constants.X_OK).catch(() => {
    throw new Error(`HAProxy is not installed (${HAPROXY_BIN}): install it: apt-get install haproxy`)
  })
  const port = Number(/^\s*bind\s+(?:\[[^\]]+\]|[^\s:]+):(\d+)/m.exec(rendered.config)?.[1])
  const statsSocket = /^\s*stats socket\s+(\S+)/m.exec(rendered.config)?.[1]
  if (!port || !statsSocket) throw new Error('the rendered configuration has no bind line or no stats socket')
  const masterSocket = path.join(configDir, 'master.sock')
  const control = createHaproxyControl({ configDir, statsSocket, masterSocket, haproxyBin: HAPROXY_BIN, timeoutMs: 5000 })
  await control.writeAndValidate(rendered)

  const child = spawn(HAPROXY_BIN, ['-W', '-S', masterSocket, '-f', path.join(configDir, 'haproxy.cfg')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  let running = true
  void exited.then(() => (running = false))

  const stop = async () => {
    if (!running) return
    child.kill('SIGTERM')
    const killer = setTimeout(() => child.kill('SIGKILL'), 5000)
    await exited
    clearTimeout(killer)
  }

  const deadline = Date.now() + 10_000
  for (;;) {
    if (!running) throw new Error(`HAProxy exited while starting:\n${output}`)
    const info = await control.query('show info').catch(() => '')
    if (info.includes('Pid:')) break
    if (Date.now() > deadline) {
      await stop()
      throw new Error(`HAProxy's admin socket did not answer within 10 s:\n${output}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return { port, control, statsSocket, masterSocket, output: () => output, stop }
}

export interface TestCertificate {
  /** PEM: the leaf, then the test CA that signed it */
  certificate: string
  /** PEM (PKCS#8) */
  key: string
  /** SHA-256 of the leaf (DER), lower-case hex: what the control plane sends and tls.connect's peer certificate shows */
  fingerprint: string
  notAfter: string
}

let testCa: { key: forge.pki.rsa.PrivateKey; certificate: forge.pki.Certificate; pem: string } | undefined

function rsaKeyPair(): { pem: string; forgePrivate: forge.pki.rsa.PrivateKey; forgePublic: forge.pki.rsa.PublicKey } {
  // Node generates the key (forge's pure-JS RSA generation is slow); forge builds and signs the certificate.
  const pair = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const pem = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
  return {
    pem,
    forgePrivate: forge.pki.privateKeyFromPem(pem),
    forgePublic: forge.pki.publicKeyFromPem(pair.publicKey.export({ type: 'spki', format: 'pem' }).toString()),
  }
}

/** A throwaway certificate for `hostnames` (the first is its common name), signed by a test CA made once per process. */
export function testCertificate(hostnames: string[], validDays = 30): TestCertificate {
  if (!testCa) {
    const pair = rsaKeyPair()
    const ca = forge.pki.createCertificate()
    ca.publicKey = pair.forgePublic
    ca.serialNumber = `01${randomBytes(8).toString('hex')}`
    ca.validity.notBefore = new Date(Date.now() - 3_600_000)
    ca.validity.notAfter = new Date(Date.now() + 365 * 86_400_000)
    const name = [{ name: 'commonName', value: 'Tenon test CA' }]
    ca.setSubject(name)
    ca.setIssuer(name)
    ca.setExtensions([
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true },
    ])
    ca.sign(pair.forgePrivate, forge.md.sha256.create())
    testCa = { key: pair.forgePrivate, certificate: ca, pem: forge.pki.certificateToPem(ca) }
  }
  const pair = rsaKeyPair()
  const leaf = forge.pki.createCertificate()
  leaf.publicKey = pair.forgePublic
  leaf.serialNumber = `02${randomBytes(8).toString('hex')}`
  leaf.validity.notBefore = new Date(Date.now() - 60_000)
  leaf.validity.notAfter = new Date(Date.now() + validDays * 86_400_000)
  leaf.setSubject([{ name: 'commonName', value: hostnames[0] ?? 'localhost' }])
  leaf.setIssuer(testCa.certificate.subject.attributes)
  leaf.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: hostnames.map((value) => ({ type: 2, value })) },
  ])
  leaf.sign(testCa.key, forge.md.sha256.create())
  const der = Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(leaf)).getBytes(), 'binary')
  return {
    certificate: `${forge.pki.certificateToPem(leaf)}${testCa.pem}`,
    key: pair.pem,
    fingerprint: createHash('sha256').update(der).digest('hex'),
    notAfter: leaf.validity.notAfter.toISOString(),
  }
}
