/**
 * Renders the whole HAProxy configuration of a load-balancer node from the routing state (pure, no I/O): haproxy.cfg,
 * the host → backend map, the crt-list and its certificate files, the HTTP-01 challenge map and the two pages HAProxy
 * answers by itself. The planner (plan.ts) uses the same helpers, so what it changes at run time is exactly what a
 * reload of these files would load.
 */
import { isIP, isIPv6 } from 'node:net'
import type { RoutedBackend, RoutedCertificate, RoutedChallenge, RoutedInstance, RoutingState } from '@/provisioners/consul/layout'

export const CONFIG_FILE = 'haproxy.cfg'
export const HOSTS_MAP_FILE = 'hosts.map'
export const MAINTENANCE_PAGE_FILE = 'maintenance.html'
/** The same page as a whole HTTP response, for `errorfile 503` (HAProxy's own 503 when every appserver is down). */
export const MAINTENANCE_RESPONSE_FILE = 'maintenance.http'
export const UNKNOWN_HOST_PAGE_FILE = 'unknown-host.html'
/** SNI hostname → certificate file, for the HTTPS frontend (HAProxy's crt-list format) */
export const CRT_LIST_FILE = 'crt-list.txt'
/** where the agent keeps each certificate an instance uses, as `<certificate id>.pem` (key and chain, mode 0600) */
export const CERTIFICATES_DIR = 'certs'
/** `/.well-known/acme-challenge/<token>` → key authorization: the HTTP-01 answers HAProxy serves by itself */
export const CHALLENGES_MAP_FILE = 'challenges.map'
export const ACME_CHALLENGE_PATH = '/.well-known/acme-challenge/'
export const MAINTENANCE_BACKEND = 'be_maintenance'
export const UNKNOWN_BACKEND = 'be_unknown'
/** Weight of an active server; a draining one has weight 0 (see serverArguments). */
export const ACTIVE_WEIGHT = 100

export interface HealthCheckTimings {
  interMs: number
  /** consecutive failed checks before a server is marked down */
  fall: number
  /** consecutive passed checks before a down server is marked up */
  rise: number
}

export interface HaproxyTimeouts {
  connectMs: number
  clientMs: number
  serverMs: number
  httpRequestMs: number
  httpKeepAliveMs: number
  queueMs: number
  checkMs: number
  /** how long an old worker may keep serving its open connections after a reload */
  hardStopAfterMs: number
}

export interface RenderOptions {
  /** the load-balancer node's name (HAProxy's `node`, shown in its stats) */
  nodeName: string
  /** IPv4 or IPv6 address the HTTP frontend listens on (0.0.0.0 or :: for all) */
  bindAddress: string
  httpPort: number
  /** the HTTPS frontend's port: served once at least one instance has a certificate (the crt-list is not empty) */
  httpsPort?: number
  /** absolute directory of haproxy.cfg and the files it references */
  configDir: string
  /** absolute path of the worker's admin socket (the runtime API) */
  statsSocket: string
  healthCheck?: Partial<HealthCheckTimings>
  timeouts?: Partial<HaproxyTimeouts>
  /** user and group the workers drop to when HAProxy starts as root (the Ansible role: haproxy/haproxy) */
  runAs?: { user: string; group: string }
  /** group that may use the admin socket (mode 660) when the agent runs as another user; default: owner only (600) */
  statsSocketGroup?: string
  /** syslog target for HAProxy's logs, e.g. /dev/log; default: no logging */
  syslog?: string
}

export interface RenderedHaproxy {
  config: string
  hostsMap: string
  /** every other file the configuration references, by file name */
  files: Record<string, string>
  /**
   * The certificate files of the crt-list, by file name (`<id>.pem`, in CERTIFICATES_DIR): private key then chain.
   * Secret: written mode 0600, sent only as the payload of `set ssl cert`, never logged.
   */
  certificates: Record<string, string>
}

export const DEFAULT_HEALTH_CHECK: HealthCheckTimings = { interMs: 2000, fall: 3, rise: 2 }
export const DEFAULT_TIMEOUTS: HaproxyTimeouts = {
  connectMs: 5000,
  clientMs: 60_000,
  serverMs: 60_000,
  httpRequestMs: 10_000,
  httpKeepAliveMs: 10_000,
  queueMs: 30_000,
  checkMs: 5000,
  hardStopAfterMs: 300_000,
}

/** Something in the routing state that cannot be rendered safely; names the instance when one is at fault. */
export class RenderError extends Error {
  constructor(
    message: string,
    readonly instanceId?: string,
  ) {
    super(message)
    this.name = 'RenderError'
  }
}

// HAProxy proxy and server names allow letters, digits, '-', '_', '.' and ':'; ':' is left out so that
// "backend/server" and "host:port" stay unambiguous on the runtime API.
const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/
const DNS_NAME = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/
// No whitespace, quotes, backslash or '#': each would end or change the word in haproxy.cfg.
const HEALTH_PATH = /^\/[A-Za-z0-9\-._~!$&()*+,;=:@%/?]{0,1023}$/

export const backendName = (instanceId: string) => `be_${instanceId}`
export const serverName = (appserverId: string) => `as_${appserverId}`
export const hostsMapPath = (options: Pick<RenderOptions, 'configDir'>) => joinPath(options.configDir, HOSTS_MAP_FILE)

/** No active backend (whatever the flag says): the maintenance page answers rather than an empty backend's 503. */
export function inMaintenance(instance: RoutedInstance): boolean {
  return instance.maintenance || !instance.backends.some((b) => b.role === 'active')
}

export function healthCheckTimings(options: Pick<RenderOptions, 'healthCheck'>): HealthCheckTimings {
  const timings = { ...DEFAULT_HEALTH_CHECK, ...options.healthCheck }
  for (const [key, value] of Object.entries(timings))
    if (!Number.isInteger(value) || value < 1) throw new RenderError(`health check ${key} must be a positive integer, got ${value}`)
  return timings
}

/**
 * The validated instances sorted by id, their backends by appserver id, their hostnames in lower case without
 * duplicates: the health check's Host (the control plane's first hostname) first, the others sorted.
 */
export function checkedInstances(state: RoutingState): RoutedInstance[] {
  const instances = [...state.instances].sort((a, b) => compare(a.instanceId, b.instanceId))
  const owners = new Map<string, string>()
  let previous: string | undefined
  return instances.map((instance) => {
    const id = instance.instanceId
    if (!ID.test(id)) throw new RenderError(`instance id ${JSON.stringify(id)} is not usable as an HAProxy backend name`, id)
    if (id === previous) throw new RenderError(`instance ${id} appears twice in the routing state`, id)
    previous = id
    if (!HEALTH_PATH.test(instance.healthPath))
      throw new RenderError(`instance ${id}: health path ${JSON.stringify(instance.healthPath)} cannot be used in haproxy.cfg`, id)
    const hostnames = [...new Set(instance.hostnames.map((h) => h.toLowerCase()))].sort(compare)
    for (const hostname of hostnames) {
      if (!DNS_NAME.test(hostname))
        throw new RenderError(`instance ${id}: hostname ${JSON.stringify(hostname)} is not a valid DNS name`, id)
      const owner = owners.get(hostname)
      if (owner !== undefined) throw new RenderError(`instance ${id}: hostname ${hostname} is also routed to instance ${owner}`, id)
      owners.set(hostname, id)
    }
    const seen = new Set<string>()
    for (const backend of instance.backends) {
      if (!ID.test(backend.appserverId))
        throw new RenderError(
          `instance ${id}: appserver id ${JSON.stringify(backend.appserverId)} is not usable as an HAProxy server name`,
          id,
        )
      if (seen.has(backend.appserverId)) throw new RenderError(`instance ${id}: appserver ${backend.appserverId} appears twice`, id)
      seen.add(backend.appserverId)
      if (!Number.isInteger(backend.port) || backend.port < 1 || backend.port > 65535)
        throw new RenderError(`instance ${id}: appserver ${backend.appserverId} has an invalid port ${backend.port}`, id)
      if (!isIP(backend.host) && !DNS_NAME.test(backend.host.toLowerCase()))
        throw new RenderError(`instance ${id}: appserver ${backend.appserverId} has an invalid host ${JSON.stringify(backend.host)}`, id)
    }
    const backends = [...instance.backends].sort((a, b) => compare(a.appserverId, b.appserverId))
    const certificates = checkedCertificateRefs(instance, new Set(hostnames))
    // The first hostname in the control plane's order is the one the health check sends (see backendSettings).
    const checkHost = instance.hostnames[0]?.toLowerCase()
    return { ...instance, hostnames: checkHost ? [checkHost, ...hostnames.filter((h) => h !== checkHost)] : [], backends, certificates }
  })
}

/**
 * An instance's certificate references, sorted by id with their hostnames in lower case and sorted. Each hostname must
 * be one the instance routes, and have one certificate at most (two would make the SNI choice HAProxy's, not ours).
 */
function checkedCertificateRefs(instance: RoutedInstance, routed: ReadonlySet<string>): RoutedInstance['certificates'] {
  const id = instance.instanceId
  const byId = new Map<string, Set<string>>()
  const servedBy = new Map<string, string>()
  for (const ref of instance.certificates) {
    if (!FILE_REF.test(ref.id))
      throw new RenderError(`instance ${id}: certificate id ${JSON.stringify(ref.id)} is not usable as a file name`, id)
    const names = byId.get(ref.id) ?? new Set<string>()
    byId.set(ref.id, names)
    for (const hostname of ref.hostnames.map((h) => h.toLowerCase())) {
      if (!routed.has(hostname))
        throw new RenderError(
          `instance ${id}: certificate ${ref.id} is for ${JSON.stringify(hostname)}, which the instance does not route`,
          id,
        )
      const other = servedBy.get(hostname)
      if (other !== undefined && other !== ref.id)
        throw new RenderError(`instance ${id}: hostname ${hostname} has two certificates, ${other} and ${ref.id}`, id)
      servedBy.set(hostname, ref.id)
      names.add(hostname)
    }
  }
  return [...byId]
    .sort((a, b) => compare(a[0], b[0]))
    .map(([certificateId, names]) => ({ id: certificateId, hostnames: [...names].sort(compare) }))
}

/** hostname → backend, sorted by hostname: the content of hosts.map and what `add/set/del map` keep in step with it. */
export function hostsMapEntries(instances: RoutedInstance[]): [string, string][] {
  const entries: [string, string][] = []
  for (const instance of instances) {
    const target = inMaintenance(instance) ? MAINTENANCE_BACKEND : backendName(instance.instanceId)
    for (const hostname of instance.hostnames) entries.push([hostname, target])
  }
  return entries.sort((a, b) => compare(a[0], b[0]))
}

/** The backend's lines other than its servers: what the runtime API cannot change, so a difference means a reload. */
export function backendSettings(instance: RoutedInstance): string[] {
  const checkHost = instance.hostnames[0]
  return [
    '  balance roundrobin',
    '  option httpchk',
    checkHost
      ? `  http-check send meth GET uri ${instance.healthPath} ver HTTP/1.1 hdr Host ${checkHost}`
      : `  http-check send meth GET uri ${instance.healthPath}`,
    '  http-check expect status 200',
  ]
}

/**
 * `address check inter … fall … rise … weight …`, the same in haproxy.cfg and in `add server`: a server added at run
 * time does not inherit `default-server`, so everything is spelled out on each server. Draining is weight 0 (no new
 * requests, open ones finish) rather than the runtime-only "drain" state, so a reload keeps the server drained.
 */
export function serverArguments(backend: RoutedBackend, timings: HealthCheckTimings): string {
  const host = isIPv6(backend.host) ? `[${backend.host}]` : backend.host.toLowerCase()
  const weight = backend.role === 'active' ? ACTIVE_WEIGHT : 0
  return `${host}:${backend.port} check inter ${timings.interMs} fall ${timings.fall} rise ${timings.rise} weight ${weight}`
}

/**
 * `privateKeys`: the decrypted private key (PEM) of each certificate the instances use, by certificate id (the agent
 * decrypts them, see certificates.ts); a certificate in the crt-list without one is a RenderError.
 */
export function renderHaproxy(
  state: RoutingState,
  options: RenderOptions,
  privateKeys: ReadonlyMap<string, string> = new Map(),
): RenderedHaproxy {
  const instances = checkedInstances(state)
  const timings = healthCheckTimings(options)
  const t = { ...DEFAULT_TIMEOUTS, ...options.timeouts }
  checkOptions(options, t)
  const dir = options.configDir
  const socketAccess = options.statsSocketGroup ? `mode 660 group ${options.statsSocketGroup}` : 'mode 600'
  const bind = isIPv6(options.bindAddress) ? `[${options.bindAddress}]:${options.httpPort}` : `${options.bindAddress}:${options.httpPort}`
  const crtList = crtListLines(instances, state.certificates, dir)
  const challenges = challengeEntries(state.challenges)
  const lines = [
    `# Written by the Tenon lb-agent of node ${options.nodeName} from routing revision ${state.revision}.`,
    '# Do not edit: the agent rewrites this file and its map on every change.',
    'global',
    `  node ${options.nodeName}`,
    ...(options.syslog ? [`  log ${options.syslog} local0`] : []),
    ...(options.runAs ? [`  user ${options.runAs.user}`, `  group ${options.runAs.group}`] : []),
    // expose-fd listeners: on a reload the new worker takes the listening sockets over from the old one, so no
    // connection is refused in between. The process runs as `haproxy -W -S <master socket>` (master-worker).
    `  stats socket ${options.statsSocket} ${socketAccess} level admin expose-fd listeners`,
    '  stats timeout 2m',
    `  hard-stop-after ${duration(t.hardStopAfterMs)}`,
    '',
    'defaults',
    '  mode http',
    ...(options.syslog ? ['  log global', '  option httplog', '  option dontlognull'] : []),
    '  option http-keep-alive',
    // A drained appserver that goes away (or closes a kept-alive connection as HAProxy reuses it) must not fail a
    // request: a refused connection (conn-failure) or one closed before any byte of answer (empty-response) is
    // retried, on another server thanks to redispatch. Not response-timeout, junk-response or 5xx codes: those
    // may follow a request the appserver did process, and replaying a non-idempotent request is worse than an error.
    '  option redispatch',
    '  retries 3',
    '  retry-on conn-failure empty-response',
    '  http-reuse safe',
    // On a reload the old worker answers the next request of each kept-alive client connection with
    // "Connection: close" instead of closing it while idle, which races with a client sending on it.
    '  option idle-close-on-response',
    `  timeout connect ${duration(t.connectMs)}`,
    `  timeout client ${duration(t.clientMs)}`,
    `  timeout server ${duration(t.serverMs)}`,
    `  timeout http-request ${duration(t.httpRequestMs)}`,
    `  timeout http-keep-alive ${duration(t.httpKeepAliveMs)}`,
    `  timeout queue ${duration(t.queueMs)}`,
    `  timeout check ${duration(t.checkMs)}`,
    // An appserver named by a DNS name that does not resolve starts without an address (down) instead of making the
    // whole configuration invalid. Servers added at run time do not read default-server (see serverArguments).
    '  default-server init-addr libc,none',
    // Every appserver of an instance failing its health check: the maintenance page rather than HAProxy's bare 503.
    `  errorfile 503 ${joinPath(dir, MAINTENANCE_RESPONSE_FILE)}`,
    '',
    'frontend fe_http',
    `  bind ${bind}`,
    ...challengeRule(dir),
    `  use_backend %[req.hdr(host),field(1,:),lower,map(${joinPath(dir, HOSTS_MAP_FILE)},${UNKNOWN_BACKEND})]`,
    '',
    ...httpsFrontend(options, crtList),
    `backend ${MAINTENANCE_BACKEND}`,
    `  http-request return status 503 content-type "text/html; charset=utf-8" file ${joinPath(dir, MAINTENANCE_PAGE_FILE)} hdr cache-control no-store hdr retry-after 30`,
    '',
    `backend ${UNKNOWN_BACKEND}`,
    `  http-request return status 404 content-type "text/html; charset=utf-8" file ${joinPath(dir, UNKNOWN_HOST_PAGE_FILE)} hdr cache-control no-store`,
  ]
  for (const instance of instances) {
    lines.push('', `backend ${backendName(instance.instanceId)}`, ...backendSettings(instance))
    for (const backend of instance.backends) lines.push(`  server ${serverName(backend.appserverId)} ${serverArguments(backend, timings)}`)
  }
  lines.push('')
  const map = hostsMapEntries(instances).map(([hostname, target]) => `${hostname} ${target}\n`)
  return {
    config: lines.join('\n'),
    hostsMap: map.join(''),
    files: {
      [MAINTENANCE_PAGE_FILE]: MAINTENANCE_PAGE,
      [MAINTENANCE_RESPONSE_FILE]: httpResponse(503, 'Service Unavailable', MAINTENANCE_PAGE),
      [UNKNOWN_HOST_PAGE_FILE]: UNKNOWN_HOST_PAGE,
      [CRT_LIST_FILE]: crtList.map((line) => `${crtListLine(line)}\n`).join(''),
      [CHALLENGES_MAP_FILE]: challenges.map(([key, value]) => `${key} ${value}\n`).join(''),
    },
    certificates: Object.fromEntries(crtList.map((line) => [certificateFileName(line.id), certificateFile(line, privateKeys)])),
  }
}

/** One line of the crt-list: a certificate file and the hostnames it serves (its SNI filters). */
export interface CrtListLine {
  /** the certificate's id */
  id: string
  /** absolute path, `<configDir>/certs/<id>.pem`: also the certificate's name on the runtime API */
  file: string
  /** the hostnames every instance using it gave it, lower case, sorted */
  filters: string[]
  certificate: RoutedCertificate
}

export const certificateFileName = (id: string) => `${id}.pem`
export const certificatePath = (dir: string, id: string) => joinPath(joinPath(dir, CERTIFICATES_DIR), certificateFileName(id))
export const crtListPath = (options: Pick<RenderOptions, 'configDir'>) => joinPath(options.configDir, CRT_LIST_FILE)
export const challengesMapPath = (options: Pick<RenderOptions, 'configDir'>) => joinPath(options.configDir, CHALLENGES_MAP_FILE)
/** `<file> <sni> <sni>…`, as in the crt-list file and in the payload of `add ssl crt-list` */
export const crtListLine = (line: CrtListLine) => `${line.file} ${line.filters.join(' ')}`

/**
 * The crt-list of checked instances: one line per certificate id, whose SNI filters are the union of the hostnames the
 * instances gave it (a wildcard certificate shared by many instances is one line and one file). Each file appears once,
 * so the runtime API can delete its line by file name. Certificates no instance uses are left out (neither loaded nor
 * written: an unused private key has no business on the node). Sorted by id: the first line is HAProxy's default
 * certificate, served to clients whose SNI matches no filter.
 */
export function crtListLines(instances: readonly RoutedInstance[], certificates: readonly RoutedCertificate[], dir: string): CrtListLine[] {
  const known = new Map(certificates.map((c) => [c.id, c]))
  const filters = new Map<string, Set<string>>()
  for (const instance of instances) {
    for (const ref of instance.certificates) {
      if (!known.has(ref.id))
        throw new RenderError(`instance ${instance.instanceId}: certificate ${ref.id} is not in the routing state`, instance.instanceId)
      const names = filters.get(ref.id) ?? new Set<string>()
      for (const hostname of ref.hostnames) names.add(hostname)
      filters.set(ref.id, names)
    }
  }
  return [...filters]
    .sort((a, b) => compare(a[0], b[0]))
    .map(([id, names]) => {
      const certificate = known.get(id)
      if (!certificate) throw new RenderError(`certificate ${id} is not in the routing state`)
      return { id, file: certificatePath(dir, id), filters: [...names].sort(compare), certificate }
    })
}

const TOKEN = /^[A-Za-z0-9_-]{16,128}$/
const KEY_AUTHORIZATION = /^[A-Za-z0-9_-]{1,256}\.[A-Za-z0-9_-]{1,256}$/

/**
 * The HTTP-01 answers as challenges.map entries, `/.well-known/acme-challenge/<token>` → key authorization, sorted.
 * Served by path whatever the Host: the token is unguessable and the answer public anyway, and a name is validated
 * before any instance routes it. Which challenges are still due (not expired) is the agent's call.
 */
export function challengeEntries(challenges: readonly RoutedChallenge[]): [string, string][] {
  const entries = new Map<string, string>()
  for (const challenge of challenges) {
    if (!TOKEN.test(challenge.token)) throw new RenderError(`challenge token ${JSON.stringify(challenge.token)} is not base64url`)
    if (!KEY_AUTHORIZATION.test(challenge.keyAuthorization))
      throw new RenderError(`challenge ${challenge.token}: the key authorization is not <token>.<thumbprint>`)
    entries.set(`${ACME_CHALLENGE_PATH}${challenge.token}`, challenge.keyAuthorization)
  }
  return [...entries].sort((a, b) => compare(a[0], b[0]))
}

/** Before any routing: a known challenge path is answered by HAProxy itself (200, text/plain, the key authorization). */
function challengeRule(dir: string): string[] {
  const map = joinPath(dir, CHALLENGES_MAP_FILE)
  return [
    `  http-request return status 200 content-type text/plain lf-string %[path,map(${map})] hdr cache-control no-store if { path_beg ${ACME_CHALLENGE_PATH} } { path,map(${map}) -m found }`,
  ]
}

/**
 * A certificate file as HAProxy reads it: the private key, then the chain (leaf first). Lines are normalised (no
 * carriage returns, no empty lines), because an empty line ends the payload of `set ssl cert` on the runtime API.
 */
function certificateFile(line: CrtListLine, privateKeys: ReadonlyMap<string, string>): string {
  const key = privateKeys.get(line.id)
  if (key === undefined) throw new RenderError(`certificate ${line.id}: its private key is missing`)
  const keyLines = pemLines(key)
  const chainLines = pemLines(line.certificate.certificate)
  if (!/^-----BEGIN [A-Z ]*PRIVATE KEY-----$/.test(keyLines[0] ?? ''))
    throw new RenderError(`certificate ${line.id}: its private key is not a PEM private key`)
  if (chainLines[0] !== '-----BEGIN CERTIFICATE-----')
    throw new RenderError(`certificate ${line.id}: the chain does not start with a PEM certificate`)
  return [...keyLines, ...chainLines].join('\n') + '\n'
}

function pemLines(pem: string): string[] {
  return pem
    .split(/\r?\n|\r/)
    .map((l) => l.trim())
    .filter(Boolean)
}

/** The HTTPS frontend, when there is a port for it and at least one certificate (HAProxy refuses an empty crt-list). */
function httpsFrontend(options: RenderOptions, crtList: CrtListLine[]): string[] {
  if (!options.httpsPort || !crtList.length) return []
  const bind = isIPv6(options.bindAddress) ? `[${options.bindAddress}]:${options.httpsPort}` : `${options.bindAddress}:${options.httpsPort}`
  return [
    'frontend fe_https',
    `  bind ${bind} ssl crt-list ${crtListPath(options)} alpn h2,http/1.1`,
    '  http-request set-header X-Forwarded-Proto https',
    ...challengeRule(options.configDir),
    `  use_backend %[req.hdr(host),field(1,:),lower,map(${joinPath(options.configDir, HOSTS_MAP_FILE)},${UNKNOWN_BACKEND})]`,
    '',
  ]
}

const FILE_REF = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/

function checkOptions(options: RenderOptions, timeouts: HaproxyTimeouts) {
  if (!ID.test(options.nodeName))
    throw new RenderError(`node name ${JSON.stringify(options.nodeName)} must be letters, digits, '.', '_' or '-'`)
  if (!isIP(options.bindAddress))
    throw new RenderError(`bind address ${JSON.stringify(options.bindAddress)} must be an IPv4 or IPv6 address`)
  if (!Number.isInteger(options.httpPort) || options.httpPort < 1 || options.httpPort > 65535)
    throw new RenderError(`HTTP port ${options.httpPort} is not a port number`)
  if (options.httpsPort !== undefined && (!Number.isInteger(options.httpsPort) || options.httpsPort < 1 || options.httpsPort > 65535))
    throw new RenderError(`HTTPS port ${options.httpsPort} is not a port number`)
  const words: Record<string, string | undefined> = {
    user: options.runAs?.user,
    group: options.runAs?.group,
    statsSocketGroup: options.statsSocketGroup,
  }
  for (const [name, word] of Object.entries(words))
    if (word !== undefined && !/^[a-z_][a-z0-9_-]{0,31}$/.test(word))
      throw new RenderError(`${name} ${JSON.stringify(word)} is not a user or group name`)
  const paths: Record<string, string> = { configDir: options.configDir, statsSocket: options.statsSocket }
  if (options.syslog !== undefined) paths.syslog = options.syslog
  for (const [name, path] of Object.entries(paths))
    if (!/^\/[A-Za-z0-9._\-/]*$/.test(path))
      throw new RenderError(`${name} ${JSON.stringify(path)} must be an absolute path without spaces or quotes`)
  for (const [key, value] of Object.entries(timeouts))
    if (!Number.isInteger(value) || value < 1)
      throw new RenderError(`timeout ${key} must be a positive number of milliseconds, got ${value}`)
}

function joinPath(dir: string, file: string): string {
  return `${dir.replace(/\/+$/, '')}/${file}`
}

function duration(ms: number): string {
  if (ms % 60_000 === 0) return `${ms / 60_000}m`
  if (ms % 1000 === 0) return `${ms / 1000}s`
  return `${ms}ms`
}

/** Code-point order: the same everywhere, unlike localeCompare. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/** A raw HTTP/1.0 response as `errorfile` wants it (HAProxy sends it as is, and closes). */
function httpResponse(status: number, reason: string, html: string): string {
  return [
    `HTTP/1.0 ${status} ${reason}`,
    'Cache-Control: no-store',
    'Retry-After: 30',
    'Connection: close',
    'Content-Type: text/html; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(html)}`,
    '',
    html,
  ].join('\r\n')
}

const page = (title: string, body: string) => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 0; min-height: 100vh; display: flex; align-items: center; justify-content: center; background: #f6f7f9; color: #1f2933; }
main { max-width: 32rem; padding: 2rem; text-align: center; }
h1 { font-size: 1.5rem; margin-bottom: 0.5rem; }
p { line-height: 1.5; color: #52606d; }
</style>
</head>
<body>
<main>
<h1>${title}</h1>
<p>${body}</p>
</main>
</body>
</html>
`

const MAINTENANCE_PAGE = page(
  'This site is being updated',
  'It is temporarily unavailable while this happens. Please try again in a few minutes.',
)
const UNKNOWN_HOST_PAGE = page(
  'No site is configured for this address',
  'Check the address you typed, or contact the site’s administrator.',
)
