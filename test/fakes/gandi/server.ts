/**
 * A protocol double of the Gandi LiveDNS v5 HTTP API (`/v5/livedns`): domains and record sets, personal access
 * tokens scoped to domains, Gandi's error bodies, pagination, fault injection, and optional forwarding of A, AAAA and
 * TXT sets into pebble-challtestsrv so that a resolver (or Pebble) sees what the product wrote. Written from the API's
 * documentation and public client code; see README.md beside this file for what is faithful and what is assumed.
 * It shares no code with the adapter (provisioners/dns/gandi.ts), so it checks it rather than mirrors it.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { isIPv4, isIPv6 } from 'node:net'

export const GANDI_DOUBLE_TOKEN = 'pat_double-token-0123456789abcdef'
const BASE_PATH = '/v5/livedns'
/** Gandi's default TTL when a PUT or POST leaves out rrset_ttl (3 hours). */
const DEFAULT_TTL = 10_800
const MIN_TTL = 300
const MAX_TTL = 2_592_000

/** The record types LiveDNS accepts (its documentation's list); only A, AAAA, CNAME and TXT values are checked here. */
const RECORD_TYPES = new Set([
  'A',
  'AAAA',
  'ALIAS',
  'CAA',
  'CDS',
  'CNAME',
  'DNAME',
  'DS',
  'KEY',
  'LOC',
  'MX',
  'NAPTR',
  'NS',
  'OPENPGPKEY',
  'PTR',
  'RP',
  'SPF',
  'SRV',
  'SSHFP',
  'TLSA',
  'TXT',
  'WKS',
])

export interface GandiDoubleOptions {
  /** The domains on the account (default ["hosting.test"]). */
  zones?: string[]
  /** Accepted personal access tokens → the domains each may manage. Default: GANDI_DOUBLE_TOKEN on every zone. */
  tokens?: Record<string, readonly string[]>
  /** pebble-challtestsrv's management URL, e.g. http://127.0.0.1:8055: A, AAAA and TXT changes are forwarded there. */
  challtestsrv?: string
  /** Page size of record lists when the client asks for none (`per_page`). Default: everything in one page. */
  pageSize?: number
}

/** A record set as the double holds it and answers it (TXT values quoted, as LiveDNS stores them). */
export interface GandiWireRecordSet {
  rrset_name: string
  rrset_type: string
  rrset_ttl: number
  rrset_values: string[]
}

export interface GandiRequestRecord {
  method: string
  /** The path with segments decoded, e.g. /v5/livedns/domains/hosting.test/records/@/A */
  path: string
  /** The query string with its "?", or "" */
  query: string
  /** The status answered; 0 for a request the double held without answering (`stallNext`). */
  status: number
}

/** What `failNext` answers instead of serving a request. */
export interface GandiFault {
  status: number
  /** Retry-After header: seconds, or an HTTP date as a string. */
  retryAfter?: number | string
  /** Replaces the error body Gandi would send for this status. */
  body?: Record<string, unknown>
}

export interface GandiDouble {
  /** Base URL of the API, e.g. http://127.0.0.1:PORT/v5/livedns (GANDI_API_URL). */
  url: string
  /** The first accepted token. */
  token: string
  zones: readonly string[]
  /** The next `count` requests (any path) are answered with this fault, before authentication. */
  failNext(count: number, fault: GandiFault): void
  /** The next `count` requests get no answer at all (until the client gives up or the double closes). */
  stallNext(count?: number): void
  /** Every request received, in order. */
  requests(): GandiRequestRecord[]
  clearRequests(): void
  /** The zone's record sets as stored (a copy), sorted by name then type. */
  records(zone: string): GandiWireRecordSet[]
  /** Puts a set straight into the zone (no validation, no forwarding): e.g. records Tenon does not manage. */
  seed(zone: string, set: { name: string; type: string; ttl?: number; values: string[] }): void
  close(): Promise<void>
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
    readonly headers: Record<string, string> = {},
  ) {
    super(String(body.message))
  }
}

const STATUS_OBJECTS: Record<number, [object: string, cause: string]> = {
  400: ['HTTPBadRequest', 'Bad Request'],
  401: ['HTTPUnauthorized', 'Unauthorized'],
  403: ['HTTPForbidden', 'Forbidden'],
  404: ['HTTPNotFound', 'Not Found'],
  405: ['HTTPMethodNotAllowed', 'Method Not Allowed'],
  409: ['HTTPConflict', 'Conflict'],
  429: ['HTTPTooManyRequests', 'Too Many Requests'],
  500: ['HTTPInternalServerError', 'Internal Server Error'],
  502: ['HTTPBadGateway', 'Bad Gateway'],
  503: ['HTTPServiceUnavailable', 'Service Unavailable'],
}

/** Gandi's error body: `{code, message, object, cause}` (+ `errors` for validation failures). */
function errorBody(status: number, message: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const [object, cause] = STATUS_OBJECTS[status] ?? ['HTTPError', 'Error']
  return { code: status, message, object, cause, ...extra }
}

const apiError = (status: number, message: string, extra: Record<string, unknown> = {}) =>
  new ApiError(status, errorBody(status, message, extra))

interface FieldError {
  location: string
  name: string
  description: string
}

const validationError = (errors: FieldError[]) => new ApiError(400, errorBody(400, 'Bad Request', { errors }))

const LABEL = '[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?'
const RELATIVE_NAME = new RegExp(`^(?:@|(?:\\*|${LABEL})(?:\\.${LABEL})*)$`)
const HOSTNAME = new RegExp(`^${LABEL}(?:\\.${LABEL})*\\.?$`)
const QUOTED_STRINGS = /^"(?:[^"\\]|\\.)*"(?:\s+"(?:[^"\\]|\\.)*")*$/s
const ONE_QUOTED_STRING = /"((?:[^"\\]|\\.)*)"/gs

/** The texts of a stored (quoted) TXT value's character-strings, unescaped. */
function txtStrings(stored: string): string[] {
  return [...stored.matchAll(ONE_QUOTED_STRING)].map((m) => (m[1] ?? '').replace(/\\(.)/gs, '$1'))
}

/**
 * A TXT value as LiveDNS stores it: quoted strings are kept as sent, an unquoted value is quoted (clients such as
 * acme.sh send bare values and LiveDNS serves them). Returns an error description when the value cannot be stored.
 */
function storeTxt(value: string): { stored: string } | { error: string } {
  const trimmed = value.trim()
  let stored: string
  if (trimmed.startsWith('"')) {
    if (!QUOTED_STRINGS.test(trimmed)) return { error: `'${value}': unbalanced quotes in TXT value` }
    stored = trimmed
  } else {
    stored = `"${value.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`
  }
  for (const text of txtStrings(stored))
    if (Buffer.byteLength(text, 'utf8') > 255)
      return { error: `'${value.slice(0, 40)}…': a TXT string is 255 bytes at most; split it into several quoted strings` }
  return { stored }
}

function checkValues(type: string, values: unknown): { values: string[] } | { errors: FieldError[] } {
  const field = (description: string): FieldError => ({ location: 'body', name: 'rrset_values', description })
  if (!Array.isArray(values) || values.length === 0) return { errors: [field('Missing or empty list of values')] }
  if (!values.every((v): v is string => typeof v === 'string')) return { errors: [field('Values must be strings')] }
  const errors: FieldError[] = []
  const out: string[] = []
  for (const value of values) {
    if (type === 'A' && !isIPv4(value)) errors.push(field(`'${value}': must be an IPv4 address`))
    else if (type === 'AAAA' && !isIPv6(value)) errors.push(field(`'${value}': must be an IPv6 address`))
    else if (type === 'CNAME' && !HOSTNAME.test(value.toLowerCase())) errors.push(field(`'${value}': must be a host name`))
    else if (type === 'TXT') {
      const txt = storeTxt(value)
      if ('error' in txt) errors.push(field(txt.error))
      else {
        out.push(txt.stored)
        continue
      }
    }
    out.push(value)
  }
  if (type === 'CNAME' && values.length > 1) errors.push(field('A CNAME record set holds exactly one value'))
  return errors.length > 0 ? { errors } : { values: out }
}

/** The record name of a request path, relative to the zone and lower case; absolute names must be in the zone. */
function relativeName(raw: string, zone: string): string {
  let name = raw.toLowerCase()
  if (name.endsWith('.')) {
    // Gandi's own message for an absolute name outside the zone (seen in public bug reports).
    if (name === `${zone}.`) name = '@'
    else if (name.endsWith(`.${zone}.`)) name = name.slice(0, -(zone.length + 2))
    else throw validationError([{ location: 'path', name: 'rrset_name', description: `Absolute rrset_name must end with ${zone}.` }])
  }
  const fqdnLength = name === '@' ? zone.length : name.length + 1 + zone.length
  if (!RELATIVE_NAME.test(name) || fqdnLength > 253)
    throw validationError([{ location: 'path', name: 'rrset_name', description: `'${raw}': invalid record name` }])
  return name
}

function checkType(raw: string): string {
  const type = raw.toUpperCase()
  if (!RECORD_TYPES.has(type))
    throw validationError([{ location: 'path', name: 'rrset_type', description: `'${raw}': unknown record type` }])
  return type
}

function checkTtl(ttl: unknown): number | FieldError {
  if (ttl === undefined) return DEFAULT_TTL
  if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < MIN_TTL || ttl > MAX_TTL)
    return {
      location: 'body',
      name: 'rrset_ttl',
      description: `${JSON.stringify(ttl)} is not an integer between ${MIN_TTL} and ${MAX_TTL}`,
    }
  return ttl
}

function bearerToken(req: http.IncomingMessage): string | undefined {
  const header = req.headers.authorization
  const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null
  return match?.[1]
}

async function readBody(req: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

export async function startGandiDouble(options: GandiDoubleOptions = {}): Promise<GandiDouble> {
  const zones = (options.zones ?? ['hosting.test']).map((z) => z.toLowerCase().replace(/\.$/, ''))
  const tokens = new Map(Object.entries(options.tokens ?? { [GANDI_DOUBLE_TOKEN]: zones }))
  const challtestsrv = options.challtestsrv?.replace(/\/+$/, '')
  /** zone → "name TYPE" → set */
  const store = new Map<string, Map<string, GandiWireRecordSet>>(zones.map((zone) => [zone, new Map()]))
  const log: GandiRequestRecord[] = []
  const faults: GandiFault[] = []
  let stalls = 0
  const stalled = new Set<http.ServerResponse>()
  /** Writes run one at a time, so two PUTs of one set never interleave their forwarding. */
  let writes: Promise<unknown> = Promise.resolve()
  let url = ''

  const key = (name: string, type: string) => `${name} ${type}`
  const sorted = (sets: Iterable<GandiWireRecordSet>) =>
    [...sets].sort((a, b) => a.rrset_name.localeCompare(b.rrset_name) || a.rrset_type.localeCompare(b.rrset_type))
  const setHref = (zone: string, set: GandiWireRecordSet) => `${url}/domains/${zone}/records/${set.rrset_name}/${set.rrset_type}`
  const withHref = (zone: string, set: GandiWireRecordSet) => ({ ...set, rrset_href: setHref(zone, set) })

  // --- forwarding to pebble-challtestsrv: the double's own plumbing, not the API's behaviour -------------------------

  async function forward(path: string, body: Record<string, unknown>): Promise<void> {
    if (!challtestsrv) return
    let response: Response
    try {
      response = await fetch(`${challtestsrv}${path}`, { method: 'POST', body: JSON.stringify(body), signal: AbortSignal.timeout(5000) })
    } catch (err) {
      throw apiError(502, `forwarding to pebble-challtestsrv failed: ${err instanceof Error ? err.message : String(err)}`)
    }
    await response.text()
    if (!response.ok) throw apiError(502, `forwarding to pebble-challtestsrv failed: ${path} answered HTTP ${response.status}`)
  }

  /** Makes challtestsrv answer `values` (stored form) for the set, or nothing when null. Its add calls append, so clear first. */
  async function forwardSet(zone: string, name: string, type: string, values: string[] | null): Promise<void> {
    const host = `${name === '@' ? zone : `${name}.${zone}`}.`
    if (type === 'TXT') {
      await forward('/clear-txt', { host })
      // challtestsrv answers one TXT record per set-txt call, with one string: several strings are joined, as resolvers do.
      for (const value of values ?? []) await forward('/set-txt', { host, value: txtStrings(value).join('') })
    } else if (type === 'A' || type === 'AAAA') {
      const suffix = type === 'A' ? 'a' : 'aaaa'
      await forward(`/clear-${suffix}`, { host })
      if (values) await forward(`/add-${suffix}`, { host, addresses: values })
    }
  }

  // --- the API ----------------------------------------------------------------------------------------------------------

  interface Reply {
    status: number
    body?: unknown
    headers?: Record<string, string>
  }

  function listRecords(zone: string, query: URLSearchParams, name?: string): Reply {
    let sets = sorted(store.get(zone)!.values())
    if (name !== undefined) sets = sets.filter((set) => set.rrset_name === name)
    const typeFilter = query.getAll('rrset_type').map((t) => t.toUpperCase())
    if (typeFilter.length > 0) sets = sets.filter((set) => typeFilter.includes(set.rrset_type))
    const page = query.has('page') ? Number(query.get('page')) : 1
    const perPage = query.has('per_page') ? Number(query.get('per_page')) : (options.pageSize ?? Math.max(sets.length, 1))
    const errors: FieldError[] = []
    if (!Number.isInteger(page) || page < 1) errors.push({ location: 'querystring', name: 'page', description: 'must be an integer ≥ 1' })
    if (!Number.isInteger(perPage) || perPage < 1)
      errors.push({ location: 'querystring', name: 'per_page', description: 'must be an integer ≥ 1' })
    if (errors.length > 0) throw validationError(errors)
    const pages = Math.max(1, Math.ceil(sets.length / perPage))
    const headers: Record<string, string> = { 'total-count': String(sets.length) }
    if (page < pages) {
      const next = new URL(`${url}/domains/${zone}/records${name !== undefined ? `/${name}` : ''}`)
      for (const [k, v] of query) if (k !== 'page' && k !== 'per_page') next.searchParams.append(k, v)
      next.searchParams.set('per_page', String(perPage))
      const last = new URL(next)
      next.searchParams.set('page', String(page + 1))
      last.searchParams.set('page', String(pages))
      headers.link = `<${next.toString()}>; rel="next", <${last.toString()}>; rel="last"`
    }
    const body = sets.slice((page - 1) * perPage, page * perPage).map((set) => withHref(zone, set))
    return { status: 200, body, headers }
  }

  async function writeSet(method: 'PUT' | 'POST', zone: string, name: string, type: string, text: string): Promise<Reply> {
    let input: unknown
    try {
      input = text === '' ? {} : JSON.parse(text)
    } catch {
      throw validationError([{ location: 'body', name: '', description: 'Invalid JSON body' }])
    }
    if (typeof input !== 'object' || input === null || Array.isArray(input))
      throw validationError([{ location: 'body', name: '', description: 'The body must be a JSON object' }])
    const body = input as Record<string, unknown>
    const errors: FieldError[] = []
    const ttl = checkTtl(body.rrset_ttl)
    if (typeof ttl !== 'number') errors.push(ttl)
    const values = checkValues(type, body.rrset_values)
    if ('errors' in values) errors.push(...values.errors)
    if (errors.length > 0 || typeof ttl !== 'number' || 'errors' in values) throw validationError(errors)
    const sets = store.get(zone)!
    if (method === 'POST' && sets.has(key(name, type))) throw apiError(409, 'A DNS record with this name and type already exists')
    // Forward first and keep the set only once challtestsrv has it: a 502 leaves the zone as it was.
    await forwardSet(zone, name, type, values.values)
    sets.set(key(name, type), { rrset_name: name, rrset_type: type, rrset_ttl: ttl, rrset_values: values.values })
    return { status: 201, body: { message: 'DNS Record Created' } }
  }

  async function deleteSets(zone: string, name: string, type?: string): Promise<Reply> {
    const sets = store.get(zone)!
    const doomed = [...sets.values()].filter((set) => set.rrset_name === name && (type === undefined || set.rrset_type === type))
    if (doomed.length === 0) throw apiError(404, "Can't find the DNS record")
    for (const set of doomed) {
      await forwardSet(zone, set.rrset_name, set.rrset_type, null)
      sets.delete(key(set.rrset_name, set.rrset_type))
    }
    return { status: 204 }
  }

  async function route(method: string, segments: string[], query: URLSearchParams, req: http.IncomingMessage): Promise<Reply> {
    const token = bearerToken(req)
    const allowed = token === undefined ? undefined : tokens.get(token)
    if (allowed === undefined) throw apiError(401, 'The server could not verify that you authorized to access the document you requested.')
    if (segments[0] !== 'domains') throw apiError(404, 'The resource could not be found.')
    if (segments.length === 1) {
      if (method !== 'GET') throw apiError(405, `The method ${method} is not allowed for this resource.`)
      const visible = zones.filter((zone) => allowed.includes(zone))
      return { status: 200, body: visible.map(domainInfo) }
    }
    const zone = (segments[1] ?? '').toLowerCase().replace(/\.$/, '')
    if (!store.has(zone))
      throw new ApiError(404, { code: 404, message: 'Unknown domain', object: 'LocalizedHTTPNotFound', cause: 'Not Found' })
    if (!allowed.includes(zone)) throw apiError(403, 'Access was denied to this resource.')
    const [, , records, rawName, rawType, ...rest] = segments
    if (records === undefined) {
      if (method !== 'GET') throw apiError(405, `The method ${method} is not allowed for this resource.`)
      return { status: 200, body: domainInfo(zone) }
    }
    if (records !== 'records' || rest.length > 0) throw apiError(404, 'The resource could not be found.')
    if (rawName === undefined) {
      if (method !== 'GET') throw apiError(405, `The method ${method} is not allowed for this resource.`)
      return listRecords(zone, query)
    }
    const name = relativeName(rawName, zone)
    if (rawType === undefined) {
      if (method === 'GET') return listRecords(zone, query, name)
      if (method === 'DELETE') return deleteSets(zone, name)
      throw apiError(405, `The method ${method} is not allowed for this resource.`)
    }
    const type = checkType(rawType)
    switch (method) {
      case 'GET': {
        const set = store.get(zone)!.get(key(name, type))
        if (!set) throw apiError(404, "Can't find the DNS record")
        return { status: 200, body: withHref(zone, set) }
      }
      case 'PUT':
      case 'POST':
        return writeSet(method, zone, name, type, await readBody(req))
      case 'DELETE':
        return deleteSets(zone, name, type)
      default:
        throw apiError(405, `The method ${method} is not allowed for this resource.`)
    }
  }

  function domainInfo(zone: string) {
    return {
      fqdn: zone,
      automatic_snapshots: true,
      domain_href: `${url}/domains/${zone}`,
      domain_keys_href: `${url}/domains/${zone}/keys`,
      domain_records_href: `${url}/domains/${zone}/records`,
    }
  }

  function send(res: http.ServerResponse, reply: Reply) {
    const headers: Record<string, string> = { ...reply.headers }
    if (reply.body !== undefined) headers['content-type'] = 'application/json'
    res.writeHead(reply.status, headers)
    res.end(reply.body === undefined ? undefined : JSON.stringify(reply.body))
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse) {
    const method = req.method ?? 'GET'
    const parsed = new URL(req.url ?? '/', 'http://double')
    const rawSegments = parsed.pathname.split('/').filter((s) => s !== '')
    let segments: string[]
    try {
      segments = rawSegments.map((s) => decodeURIComponent(s))
    } catch {
      segments = rawSegments
    }
    const entry: GandiRequestRecord = { method, path: '/' + segments.join('/'), query: parsed.search, status: 0 }
    log.push(entry)
    if (stalls > 0) {
      stalls--
      stalled.add(res)
      res.once('close', () => stalled.delete(res))
      return
    }
    let reply: Reply
    const fault = faults.shift()
    if (fault) {
      const headers: Record<string, string> = {}
      if (fault.retryAfter !== undefined) headers['retry-after'] = String(fault.retryAfter)
      reply = { status: fault.status, body: fault.body ?? errorBody(fault.status, STATUS_OBJECTS[fault.status]?.[1] ?? 'Error'), headers }
    } else {
      const base = BASE_PATH.split('/').filter((s) => s !== '')
      const under = base.every((part, i) => segments[i] === part)
      const run = async (): Promise<Reply> => {
        if (!under) throw apiError(404, 'The resource could not be found.')
        return route(method, segments.slice(base.length), parsed.searchParams, req)
      }
      const attempt = method === 'GET' ? run() : (writes = writes.then(run, run))
      try {
        reply = (await attempt) as Reply
      } catch (err) {
        if (err instanceof ApiError) reply = { status: err.status, body: err.body, headers: err.headers }
        else reply = { status: 500, body: errorBody(500, err instanceof Error ? err.message : String(err)) }
      }
    }
    entry.status = reply.status
    send(res, reply)
  }

  const server = http.createServer((req, res) => {
    void handle(req, res)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const port = (server.address() as AddressInfo).port
  url = `http://127.0.0.1:${port}${BASE_PATH}`

  return {
    url,
    token: [...tokens.keys()][0] ?? GANDI_DOUBLE_TOKEN,
    zones,
    failNext(count, fault) {
      for (let i = 0; i < count; i++) faults.push({ ...fault })
    },
    stallNext(count = 1) {
      stalls += count
    },
    requests: () => log.map((entry) => ({ ...entry })),
    clearRequests() {
      log.length = 0
    },
    records(zone) {
      const sets = store.get(zone.toLowerCase())
      if (!sets) throw new Error(`the double has no zone ${zone}`)
      return sorted(sets.values()).map((set) => ({ ...set, rrset_values: [...set.rrset_values] }))
    },
    seed(zone, set) {
      const sets = store.get(zone.toLowerCase())
      if (!sets) throw new Error(`the double has no zone ${zone}`)
      const type = set.type.toUpperCase()
      sets.set(key(set.name, type), {
        rrset_name: set.name,
        rrset_type: type,
        rrset_ttl: set.ttl ?? DEFAULT_TTL,
        rrset_values: [...set.values],
      })
    },
    async close() {
      for (const res of stalled) res.destroy()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
