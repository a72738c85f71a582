import { spawn, type ChildProcess } from 'node:child_process'
import { generateKeyPair, randomBytes, X509Certificate } from 'node:crypto'
import dgram from 'node:dgram'
import { access, constants, mkdtemp, rm, writeFile } from 'node:fs/promises'
import https from 'node:https'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import forge from 'node-forge'

/**
 * Let's Encrypt's test CA for one test file: pebble-challtestsrv (mock DNS on 127.0.0.1, management API) and pebble
 * resolving names through it, on free ports, with a throwaway CA made here for Pebble's own HTTPS. Validation is real:
 * PEBBLE_VA_ALWAYS_VALID is never set, and authorization reuse is off, so every order is validated again.
 */

export const PEBBLE_BIN = '/usr/bin/pebble'
export const CHALLTESTSRV_BIN = '/usr/bin/pebble-challtestsrv'
const NOT_INSTALLED = 'pebble is not installed: apt-get install pebble (.ci/run does it)'
const START_TIMEOUT_MS = 10_000

export interface Pebble {
  /** e.g. https://127.0.0.1:41234/dir */
  directoryUrl: string
  /** PEM of the throwaway CA that signed Pebble's HTTPS certificate: trust it, never turn verification off */
  caBundle: string
  /** challtestsrv's management API, e.g. http://127.0.0.1:41235 */
  challtestsrv: string
  /** the mock DNS server (UDP and TCP on 127.0.0.1) Pebble resolves every name with */
  dnsPort: number
  /** where Pebble connects for HTTP-01 (on the address the name resolves to) */
  httpPort: number
  /** where Pebble connects for TLS-ALPN-01 */
  tlsPort: number
  /** Pebble's management API (HTTPS, same CA), e.g. https://127.0.0.1:41236 */
  managementUrl: string
  /** Pebble's issuing chain, regenerated on every start: [root, intermediate] (PEM), to verify what it issued. */
  issuingRoots(): Promise<string[]>
  /** Adds a TXT value at `host` (challtestsrv keeps every value set until cleared). */
  setTxt(host: string, value: string): Promise<void>
  /** Removes every TXT value at `host`. */
  clearTxt(host: string): Promise<void>
  /** Answers A queries for `host` with these addresses (nothing resolves until added: no default address). */
  addA(host: string, addresses: string[]): Promise<void>
  clearA(host: string): Promise<void>
  /** what both processes printed so far */
  output(): string
  close(): Promise<void>
}

export interface StartPebbleOptions {
  /** where Pebble connects for HTTP-01; default 5002 (Pebble's own default). Tests pass the port they serve on. */
  httpPort?: number
  tlsPort?: number
}

interface ThrowawayCa {
  caPem: string
  certPem: string
  keyPem: string
}

const generateRsa = promisify(generateKeyPair)

async function rsaKey(): Promise<{ privateKey: forge.pki.rsa.PrivateKey; publicKey: forge.pki.rsa.PublicKey }> {
  const pair = await generateRsa('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  })
  return { privateKey: forge.pki.privateKeyFromPem(pair.privateKey), publicKey: forge.pki.publicKeyFromPem(pair.publicKey) }
}

function certificate(options: {
  subject: string
  publicKey: forge.pki.PublicKey
  issuer: forge.pki.Certificate | null
  signingKey: forge.pki.rsa.PrivateKey
  extensions: object[]
}): forge.pki.Certificate {
  const cert = forge.pki.createCertificate()
  cert.publicKey = options.publicKey
  // positive (leading 01) and random: two runs never make certificates a client could confuse
  cert.serialNumber = '01' + randomBytes(8).toString('hex')
  cert.validity.notBefore = new Date(Date.now() - 60 * 60 * 1000)
  cert.validity.notAfter = new Date(Date.now() + 24 * 60 * 60 * 1000)
  cert.setSubject([{ name: 'commonName', value: options.subject }])
  cert.setIssuer(options.issuer ? options.issuer.subject.attributes : [{ name: 'commonName', value: options.subject }])
  cert.setExtensions(options.extensions)
  cert.sign(options.signingKey, forge.md.sha256.create())
  return cert
}

/** A CA valid for a day and a certificate it signed for localhost and 127.0.0.1, for Pebble's HTTPS listeners. */
async function makeThrowawayCa(): Promise<ThrowawayCa> {
  const [caKey, serverKey] = await Promise.all([rsaKey(), rsaKey()])
  const ca = certificate({
    subject: 'Tenon test CA for Pebble',
    publicKey: caKey.publicKey,
    issuer: null,
    signingKey: caKey.privateKey,
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
      { name: 'subjectKeyIdentifier' },
    ],
  })
  const server = certificate({
    subject: 'localhost',
    publicKey: serverKey.publicKey,
    issuer: ca,
    signingKey: caKey.privateKey,
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
        ],
      },
    ],
  })
  return {
    caPem: forge.pki.certificateToPem(ca),
    certPem: forge.pki.certificateToPem(server),
    keyPem: forge.pki.privateKeyToPem(serverKey.privateKey),
  }
}

function tcpPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

function udpPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket('udp4')
    socket.once('error', () => {
      socket.close()
      resolve(false)
    })
    socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)))
  })
}

/** A random port in the unprivileged range below the kernel's ephemeral range, free on TCP (and UDP when asked). */
async function randomFreePort(taken: Set<number>, udp = false): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000)
    if (taken.has(port)) continue
    if (!(await tcpPortFree(port))) continue
    if (udp && !(await udpPortFree(port))) continue
    taken.add(port)
    return port
  }
  throw new Error('no free port found for Pebble after 50 tries')
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port })
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(1000, () => done(false))
    socket.once('connect', () => done(true))
    socket.once('error', () => done(false))
  })
}

/** GET over HTTPS trusting only `ca` (Pebble's listeners and its management API). */
function httpsGet(url: string, ca: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const request = https.get(url, { ca, timeout: 5000 }, (response) => {
      let text = ''
      response.setEncoding('utf8')
      response.on('data', (chunk: string) => (text += chunk))
      response.on('end', () => resolve({ status: response.statusCode ?? 0, text }))
      response.on('error', reject)
    })
    request.on('timeout', () => request.destroy(new Error(`no answer from ${url} within 5 s`)))
    request.on('error', reject)
  })
}

const fqdn = (host: string) => (host.endsWith('.') ? host : `${host}.`)

/**
 * Starts pebble-challtestsrv and pebble on free ports and resolves once both answer. Close it in afterAll; the processes
 * are also killed if the test process exits first.
 */
export async function startPebble(options: StartPebbleOptions = {}): Promise<Pebble> {
  for (const bin of [PEBBLE_BIN, CHALLTESTSRV_BIN]) await access(bin, constants.X_OK).catch(() => Promise.reject(new Error(NOT_INSTALLED)))
  // A port found free can be taken by another test file before Pebble binds it: start again on other ports.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options)
    } catch (err) {
      if (attempt >= 3 || !(err instanceof Error) || !err.message.includes('address already in use')) throw err
    }
  }
}

async function startOnce(options: StartPebbleOptions): Promise<Pebble> {
  const directory = await mkdtemp(path.join(os.tmpdir(), 'tenon-pebble-'))
  const children: ChildProcess[] = []
  let output = ''
  const killAll = () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
  process.on('exit', killAll)

  const close = async () => {
    process.off('exit', killAll)
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve()
            child.once('exit', () => resolve())
            child.kill('SIGTERM')
            setTimeout(() => child.kill('SIGKILL'), 3000).unref()
          }),
      ),
    )
    await rm(directory, { recursive: true, force: true })
  }

  try {
    const ca = await makeThrowawayCa()
    const certificateFile = path.join(directory, 'cert.pem')
    const keyFile = path.join(directory, 'key.pem')
    await writeFile(certificateFile, ca.certPem)
    await writeFile(keyFile, ca.keyPem, { mode: 0o600 })

    const taken = new Set<number>()
    const dnsPort = await randomFreePort(taken, true)
    const challtestsrvPort = await randomFreePort(taken)
    const listenPort = await randomFreePort(taken)
    const managementPort = await randomFreePort(taken)
    const httpPort = options.httpPort ?? 5002
    const tlsPort = options.tlsPort ?? (await randomFreePort(taken))

    // Pebble 2.4's configuration (checked against the binary: no profiles and no retryAfter settings in this version).
    const configFile = path.join(directory, 'pebble-config.json')
    await writeFile(
      configFile,
      JSON.stringify({
        pebble: {
          listenAddress: `127.0.0.1:${listenPort}`,
          managementListenAddress: `127.0.0.1:${managementPort}`,
          certificate: certificateFile,
          privateKey: keyFile,
          httpPort,
          tlsPort,
          ocspResponderURL: '',
          externalAccountBindingRequired: false,
        },
      }),
    )

    const run = (bin: string, args: string[], env: Record<string, string> = {}) => {
      const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } })
      child.once('error', (err) => (output += `${bin}: ${err.message}\n`))
      child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()))
      child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()))
      children.push(child)
      return child
    }
    // Only the mock DNS and the management API: HTTP-01 answers come from the test's own server on httpPort.
    // No default addresses, so a name resolves only once a test adds an A record for it.
    run(CHALLTESTSRV_BIN, [
      '-management',
      `127.0.0.1:${challtestsrvPort}`,
      '-dns01',
      `127.0.0.1:${dnsPort}`,
      '-http01',
      '',
      '-https01',
      '',
      '-tlsalpn01',
      '',
      '-defaultIPv4',
      '',
      '-defaultIPv6',
      '',
    ])
    run(PEBBLE_BIN, ['-config', configFile, '-dnsserver', `127.0.0.1:${dnsPort}`, '-strict=false'], {
      // no random 0-15 s sleep before each validation
      PEBBLE_VA_NOSLEEP: '1',
      // Pebble rejects 5% of good nonces by default; acme-client retries them, but tests should not depend on that luck
      PEBBLE_WFE_NONCEREJECT: '0',
      // otherwise half of the orders reuse an earlier valid authorization and skip validation
      PEBBLE_AUTHZREUSE: '0',
    })

    const directoryUrl = `https://127.0.0.1:${listenPort}/dir`
    const managementUrl = `https://127.0.0.1:${managementPort}`
    const deadline = Date.now() + START_TIMEOUT_MS
    for (;;) {
      const exited = children.find((child) => child.exitCode !== null || child.signalCode !== null)
      if (exited) throw new Error(`${path.basename(String(exited.spawnfile))} exited while starting:\n${output}`)
      const ready = await Promise.all([
        httpsGet(directoryUrl, ca.caPem).then(
          (answer) => answer.status === 200,
          () => false,
        ),
        httpsGet(`${managementUrl}/roots/0`, ca.caPem).then(
          (answer) => answer.status === 200,
          () => false,
        ),
        canConnect(challtestsrvPort),
        canConnect(dnsPort),
      ])
      if (ready.every(Boolean)) break
      if (Date.now() > deadline) throw new Error(`Pebble did not answer within ${START_TIMEOUT_MS / 1000} s:\n${output}`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }

    const challtestsrv = `http://127.0.0.1:${challtestsrvPort}`
    const manage = async (endpoint: string, body: unknown) => {
      const response = await fetch(`${challtestsrv}${endpoint}`, {
        method: 'POST',
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(5000),
      })
      if (!response.ok) throw new Error(`challtestsrv ${endpoint} answered HTTP ${response.status}: ${await response.text()}`)
    }
    const getPem = async (resource: string) => {
      const answer = await httpsGet(`${managementUrl}${resource}`, ca.caPem)
      if (answer.status !== 200) throw new Error(`Pebble's management API ${resource} answered HTTP ${answer.status}`)
      return new X509Certificate(answer.text).toString() // fails loudly on anything that is not a certificate
    }

    return {
      directoryUrl,
      caBundle: ca.caPem,
      challtestsrv,
      dnsPort,
      httpPort,
      tlsPort,
      managementUrl,
      issuingRoots: async () => [await getPem('/roots/0'), await getPem('/intermediates/0')],
      setTxt: (host, value) => manage('/set-txt', { host: fqdn(host), value }),
      clearTxt: (host) => manage('/clear-txt', { host: fqdn(host) }),
      addA: (host, addresses) => manage('/add-a', { host: fqdn(host), addresses }),
      clearA: (host) => manage('/clear-a', { host: fqdn(host) }),
      output: () => output,
      close,
    }
  } catch (err) {
    killAll()
    await close()
    throw err
  }
}
