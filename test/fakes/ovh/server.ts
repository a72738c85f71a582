/**
 * A protocol double of the OVHcloud API (v1, `/1.0`): request signing, `/auth/time`, and the Public Cloud
 * instance and SSH key calls the OVH VM driver makes. It speaks HTTPS because the official `ovh` client
 * only speaks HTTPS (it has no protocol option); its certificate is made per start, and
 * `trustInThisProcess()` adds it to the trusted roots of Node's global HTTPS agent, which that client uses.
 * See README.md beside this file for what is faithful and what is simplified.
 */
import { createHash, generateKeyPairSync, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto'
import https from 'node:https'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { rootCertificates } from 'node:tls'
import forge from 'node-forge'

export interface OvhDoubleOptions {
  appKey?: string
  appSecret?: string
  consumerKey?: string
  /** The Public Cloud project id (the API's `serviceName`). */
  projectId?: string
  /** Milliseconds an instance stays in BUILD before it turns ACTIVE (default 30). */
  bootDelayMs?: number
  /** Milliseconds a deleted instance shows DELETING before it is gone (default 20). */
  deleteDelayMs?: number
  /** The public IPv4 address an ACTIVE instance reports (default 127.0.0.1). */
  publicIp?: string
  /** Seconds the double's clock is ahead of this machine's (to prove the client uses /auth/time). */
  clockOffsetSeconds?: number
  /** Largest accepted difference between X-Ovh-Timestamp and the double's clock, in seconds (default 300). */
  maxSkewSeconds?: number
}

export interface OvhIpAddress {
  ip: string
  type: 'public' | 'private'
  version: 4 | 6
  networkId: string
  gatewayIp: string | null
}

/** What the double holds for one instance (introspection; a copy). */
export interface OvhDoubleInstance {
  id: string
  name: string
  region: string
  flavorId: string
  imageId: string
  sshKeyId: string | null
  monthlyBilling: boolean
  status: string
  created: string
  /** The `userData` field exactly as received (plain text: OVH takes the cloud-init document as is). */
  userData: string | null
}

export interface OvhDoubleSshKey {
  id: string
  name: string
  publicKey: string
  regions: string[]
}

export interface OvhRequestRecord {
  method: string
  path: string
  status: number
  /** Present when the double refused the call's authentication. */
  authError?: string
}

export interface OvhDouble {
  /** Base URL to give the driver as its endpoint, e.g. https://127.0.0.1:PORT/1.0 */
  url: string
  host: string
  port: number
  basePath: string
  credentials: { appKey: string; appSecret: string; consumerKey: string; projectId: string }
  /** PEM of the double's self-signed certificate. */
  caCertificate: string
  /** Makes Node's global HTTPS agent trust the double's certificate (and the usual roots); returns the undo. */
  trustInThisProcess(): () => void
  setBootDelay(ms: number): void
  /** The next `count` instances created take `ms` to boot instead of the boot delay. */
  slowBoot(ms: number, count?: number): void
  /** The next `count` instance creations fail the way OVH answers a project whose quota is used up. */
  quotaExceeded(count?: number): void
  /** Instances whose name matches go to status ERROR instead of ACTIVE when they finish booting. */
  failBoot(predicate: (name: string) => boolean): void
  setPublicIp(ip: string): void
  instances(): OvhDoubleInstance[]
  sshKeys(): OvhDoubleSshKey[]
  requests(): OvhRequestRecord[]
  close(): Promise<void>
}

interface InstanceRecord {
  id: string
  name: string
  region: string
  flavorId: string
  imageId: string
  sshKeyId: string | null
  monthlyBilling: boolean
  userData: string | null
  created: string
  readyAt: number
  failsBoot: boolean
  deletedAt: number | null
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, string>,
  ) {
    super(body.message)
  }
}

// OVH's generic error body carries the error class and a message (`{"class":"Client::NotFound","message":...}`);
// authentication failures carry `errorCode` and `httpCode` instead.
const notFound = (message: string) => new ApiError(404, { class: 'Client::NotFound', message })
const badRequest = (message: string) => new ApiError(400, { class: 'Client::BadRequest', message })
const authError = (status: number, errorCode: string, message: string) =>
  new ApiError(status, { errorCode, httpCode: status === 400 ? '400 Bad Request' : '403 Forbidden', message })

export async function startOvhDouble(options: OvhDoubleOptions = {}): Promise<OvhDouble> {
  const credentials = {
    appKey: options.appKey ?? 'double-app-key',
    appSecret: options.appSecret ?? 'double-app-secret',
    consumerKey: options.consumerKey ?? 'double-consumer-key',
    projectId: options.projectId ?? 'a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6',
  }
  const basePath = '/1.0'
  const maxSkew = options.maxSkewSeconds ?? 300
  const clockOffset = options.clockOffsetSeconds ?? 0
  let bootDelayMs = options.bootDelayMs ?? 30
  const deleteDelayMs = options.deleteDelayMs ?? 20
  let publicIp = options.publicIp ?? '127.0.0.1'
  const slowBoots: number[] = []
  let quotaFailures = 0
  const bootFailures: ((name: string) => boolean)[] = []
  const instances = new Map<string, InstanceRecord>()
  const keys = new Map<string, OvhDoubleSshKey>()
  const log: OvhRequestRecord[] = []

  const serverNow = () => Math.round(Date.now() / 1000) + clockOffset

  function statusOf(instance: InstanceRecord): string {
    if (instance.deletedAt !== null) return 'DELETING'
    if (Date.now() < instance.readyAt) return 'BUILD'
    return instance.failsBoot ? 'ERROR' : 'ACTIVE'
  }

  /** Drops instances whose deletion has finished; they answer 404 from then on. */
  function purge() {
    for (const [id, instance] of instances) {
      if (instance.deletedAt !== null && Date.now() - instance.deletedAt >= deleteDelayMs) instances.delete(id)
    }
  }

  function instanceView(instance: InstanceRecord) {
    const status = statusOf(instance)
    const ipAddresses: OvhIpAddress[] =
      status === 'ACTIVE'
        ? [{ ip: publicIp, type: 'public', version: 4, networkId: 'ext-net-' + instance.region.toLowerCase(), gatewayIp: null }]
        : []
    return {
      id: instance.id,
      name: instance.name,
      region: instance.region,
      flavorId: instance.flavorId,
      imageId: instance.imageId,
      sshKeyId: instance.sshKeyId,
      created: instance.created,
      status,
      ipAddresses,
      monthlyBilling: instance.monthlyBilling ? { since: instance.created, status: 'ok' } : null,
      planCode: null,
      operationIds: [],
      currentMonthOutgoingTraffic: null,
    }
  }

  function verifySignature(req: IncomingMessage, body: string): void {
    const header = (name: string) => {
      const value = req.headers[name]
      return Array.isArray(value) ? value[0] : value
    }
    const appKey = header('x-ovh-application')
    if (appKey !== credentials.appKey) throw authError(403, 'INVALID_KEY', 'Invalid application key')
    const consumerKey = header('x-ovh-consumer')
    if (consumerKey !== credentials.consumerKey) throw authError(403, 'INVALID_CREDENTIAL', 'This credential does not exist')
    const timestamp = header('x-ovh-timestamp') ?? ''
    if (!/^\d+$/.test(timestamp)) throw authError(400, 'INVALID_SIGNATURE', 'Invalid signature')
    if (Math.abs(Number(timestamp) - serverNow()) > maxSkew) throw authError(400, 'QUERY_TIME_OUT', 'Query out of time')
    // The signed URL is the one the caller asked for: scheme, host without the port, path and query.
    const hostname = (header('host') ?? '').replace(/:\d+$/, '')
    const fullUrl = `https://${hostname}${req.url ?? ''}`
    const expected =
      '$1$' + createHash('sha1').update([credentials.appSecret, consumerKey, req.method, fullUrl, body, timestamp].join('+')).digest('hex')
    const given = Buffer.from(header('x-ovh-signature') ?? '')
    if (given.length !== expected.length || !timingSafeEqual(given, Buffer.from(expected))) {
      throw authError(400, 'INVALID_SIGNATURE', 'Invalid signature')
    }
  }

  function parseBody(body: string): Record<string, unknown> {
    if (body === '') return {}
    let parsed: unknown
    try {
      parsed = JSON.parse(body)
    } catch {
      throw badRequest('Invalid JSON received')
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw badRequest('Invalid JSON received')
    return Object.fromEntries(Object.entries(parsed))
  }

  /** Throws OVH's answer to missing parameters, naming every one that is missing. */
  function requireStrings(input: Record<string, unknown>, names: string[]): void {
    const missing = names.filter((n) => typeof input[n] !== 'string' || input[n] === '')
    if (missing.length > 0) throw badRequest(`Missing parameter(s): ${missing.join(', ')}`)
  }

  function optionalString(input: Record<string, unknown>, name: string): string | null {
    const value = input[name]
    if (value === undefined || value === null) return null
    if (typeof value !== 'string') throw badRequest(`[${name}] Given data (${JSON.stringify(value)}) is not a string`)
    return value
  }

  function route(method: string, segments: string[], query: URLSearchParams, body: Record<string, unknown>): unknown {
    const [root, kind, serviceName, collection, itemId, ...rest] = segments
    if (root !== 'cloud' || kind !== 'project' || serviceName === undefined) throw notFound('The requested object does not exist')
    if (serviceName !== credentials.projectId) throw notFound('This service does not exist')
    if (collection === undefined) {
      if (method !== 'GET') throw notFound('The requested object does not exist')
      return {
        project_id: credentials.projectId,
        projectName: 'double',
        description: 'OVH API double',
        status: 'ok',
        creationDate: new Date(0).toISOString(),
        planCode: 'project.2018',
        unleash: false,
      }
    }
    if (rest.length > 0) throw notFound('The requested object does not exist')

    if (collection === 'sshkey') {
      if (itemId === undefined && method === 'GET') {
        const region = query.get('region')
        return [...keys.values()].filter((k) => region === null || k.regions.includes(region)).map((k) => ({ ...k }))
      }
      if (itemId === undefined && method === 'POST') {
        requireStrings(body, ['name', 'publicKey'])
        const name = String(body.name)
        const publicKey = String(body.publicKey)
        if (!/^(ssh-(rsa|ed25519)|ecdsa-sha2-nistp\d+) [A-Za-z0-9+/=]+( .*)?$/.test(publicKey.trim()))
          throw badRequest('Invalid public key')
        if ([...keys.values()].some((k) => k.name === name))
          throw new ApiError(409, { class: 'Client::Conflict', message: `Key pair '${name}' already exists` })
        const region = optionalString(body, 'region')
        const key: OvhDoubleSshKey = {
          id: randomBytes(12).toString('hex'),
          name,
          publicKey: publicKey.trim(),
          regions: region ? [region] : ['GRA7', 'SBG5', 'BHS5'],
        }
        keys.set(key.id, key)
        return { ...key }
      }
      if (itemId === undefined) throw notFound('The requested object does not exist')
      const key = keys.get(itemId)
      if (!key) throw notFound(`SSH key ${itemId} does not exist`)
      if (method === 'GET') return { ...key, fingerprint: fingerprint(key.publicKey) }
      if (method === 'DELETE') {
        keys.delete(itemId)
        return null
      }
      throw notFound('The requested object does not exist')
    }

    if (collection === 'instance') {
      purge()
      if (itemId === undefined && method === 'GET') {
        const region = query.get('region')
        return [...instances.values()].filter((i) => region === null || i.region === region).map(instanceView)
      }
      if (itemId === undefined && method === 'POST') {
        requireStrings(body, ['flavorId', 'name', 'region'])
        const [flavorId, name, region] = [String(body.flavorId), String(body.name), String(body.region)]
        const imageId = optionalString(body, 'imageId')
        if (imageId === null) throw badRequest('Missing parameter(s): imageId')
        const sshKeyId = optionalString(body, 'sshKeyId')
        if (sshKeyId !== null && !keys.has(sshKeyId)) throw badRequest(`SSH key ${sshKeyId} does not exist`)
        if (quotaFailures > 0) {
          quotaFailures -= 1
          const used = [...instances.values()].length
          // Nova's quota message, which the OVH API passes on for instance creation (see README).
          throw badRequest(`Quota exceeded for instances: Requested 1, but already used ${used} of ${used} instances`)
        }
        const slow = slowBoots.shift()
        const record: InstanceRecord = {
          id: randomUUID(),
          name,
          region,
          flavorId,
          imageId,
          sshKeyId,
          monthlyBilling: body.monthlyBilling === true,
          userData: optionalString(body, 'userData'),
          created: new Date().toISOString(),
          readyAt: Date.now() + (slow ?? bootDelayMs),
          failsBoot: bootFailures.some((p) => p(name)),
          deletedAt: null,
        }
        instances.set(record.id, record)
        return instanceView(record)
      }
      if (itemId === undefined) throw notFound('The requested object does not exist')
      const instance = instances.get(itemId)
      if (!instance) throw notFound(`Instance ${itemId} not found`)
      if (method === 'GET') return instanceView(instance)
      if (method === 'DELETE') {
        instance.deletedAt ??= Date.now()
        return null
      }
      throw notFound('The requested object does not exist')
    }
    throw notFound('The requested object does not exist')
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)))
    const body = Buffer.concat(chunks).toString('utf8')
    const url = new URL(req.url ?? '/', 'https://double.invalid')
    const method = req.method ?? 'GET'
    const record: OvhRequestRecord = { method, path: url.pathname + url.search, status: 200 }
    log.push(record)
    const send = (status: number, payload: unknown) => {
      record.status = status
      const text = payload === undefined ? '' : JSON.stringify(payload)
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) })
      res.end(text)
    }
    try {
      if (!url.pathname.startsWith(basePath + '/')) throw notFound('The requested object does not exist')
      const apiPath = url.pathname.slice(basePath.length)
      if (apiPath === '/auth/time' && method === 'GET') return send(200, serverNow())
      try {
        verifySignature(req, body)
      } catch (error) {
        if (error instanceof ApiError) record.authError = error.body.errorCode
        throw error
      }
      const segments = apiPath.split('/').slice(1).map(decodeURIComponent)
      send(200, route(method, segments, url.searchParams, parseBody(body)))
    } catch (error) {
      if (error instanceof ApiError) send(error.status, error.body)
      else send(500, { class: 'Server::InternalServerError', message: error instanceof Error ? error.message : String(error) })
    }
  }

  const { key, cert } = selfSignedCertificate()
  const server = https.createServer({ key, cert }, (req, res) => void handle(req, res))
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('OVH double: no TCP address')
  const { port } = address satisfies AddressInfo
  const host = '127.0.0.1'

  return {
    url: `https://${host}:${port}${basePath}`,
    host,
    port,
    basePath,
    credentials,
    caCertificate: cert,
    trustInThisProcess() {
      const before = https.globalAgent.options.ca
      https.globalAgent.options.ca = [...rootCertificates, cert]
      return () => {
        https.globalAgent.options.ca = before
      }
    },
    setBootDelay(ms) {
      bootDelayMs = ms
    },
    slowBoot(ms, count = 1) {
      for (let i = 0; i < count; i++) slowBoots.push(ms)
    },
    quotaExceeded(count = 1) {
      quotaFailures += count
    },
    failBoot(predicate) {
      bootFailures.push(predicate)
    },
    setPublicIp(ip) {
      publicIp = ip
    },
    instances() {
      purge()
      return [...instances.values()].map((i) => ({
        id: i.id,
        name: i.name,
        region: i.region,
        flavorId: i.flavorId,
        imageId: i.imageId,
        sshKeyId: i.sshKeyId,
        monthlyBilling: i.monthlyBilling,
        status: statusOf(i),
        created: i.created,
        userData: i.userData,
      }))
    },
    sshKeys() {
      return [...keys.values()].map((k) => ({ ...k, regions: [...k.regions] }))
    },
    requests() {
      return log.map((r) => ({ ...r }))
    },
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
    },
  }
}

/** MD5 fingerprint in the colon form OpenSSH printed before SHA256 (what OVH shows). */
function fingerprint(publicKey: string): string {
  const blob = Buffer.from(publicKey.split(' ')[1] ?? '', 'base64')
  return (createHash('md5').update(blob).digest('hex').match(/../g) ?? []).join(':')
}

function selfSignedCertificate(): { key: string; cert: string } {
  const pair = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const keyPem = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
  const publicPem = pair.publicKey.export({ type: 'spki', format: 'pem' }).toString()
  const certificate = forge.pki.createCertificate()
  certificate.publicKey = forge.pki.publicKeyFromPem(publicPem)
  certificate.serialNumber = '01' + randomBytes(8).toString('hex')
  certificate.validity.notBefore = new Date(Date.now() - 60_000)
  certificate.validity.notAfter = new Date(Date.now() + 24 * 3600_000)
  const subject = [{ name: 'commonName', value: '127.0.0.1' }]
  certificate.setSubject(subject)
  certificate.setIssuer(subject)
  certificate.setExtensions([
    { name: 'basicConstraints', cA: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, keyCertSign: true },
    { name: 'extKeyUsage', serverAuth: true },
    {
      name: 'subjectAltName',
      altNames: [
        { type: 7, ip: '127.0.0.1' },
        { type: 2, value: 'localhost' },
      ],
    },
  ])
  const privateKey = forge.pki.privateKeyFromPem(keyPem)
  certificate.sign(privateKey, forge.md.sha256.create())
  return { key: keyPem, cert: forge.pki.certificateToPem(certificate) }
}
