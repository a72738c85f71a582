/**
 * A protocol double of the parts of Consul's HTTP API that Tenon's routing uses (see README.md for what is faithful
 * and what is simplified): the KV store with blocking queries, `/v1/txn`, agent service registration, the catalog's
 * service list and service health, and ACL tokens. Consul cannot be installed on these machines; this is written from
 * Consul's public HTTP API documentation and its open source state store.
 */
import { randomUUID } from 'node:crypto'
import http from 'node:http'
import type net from 'node:net'
import { z } from 'zod'

export interface ConsulDoubleOptions {
  /** When set, every request except /v1/status/* must carry this token (403 otherwise). */
  token?: string
  /** The datacenter this "cluster" is; a request naming another `dc` gets 500 "No path to datacenter". Default "dc1". */
  datacenter?: string
}

export type ConsulCheckStatus = 'passing' | 'warning' | 'critical'

/** A KV entry as a test sees it (a copy). */
export interface ConsulDoubleKvEntry {
  key: string
  /** The value as UTF-8 text ("" for an empty value). */
  value: string
  flags: number
  createIndex: number
  modifyIndex: number
}

export interface ConsulDoubleService {
  id: string
  name: string
  tags: string[]
  address: string
  port: number
  meta: Record<string, string>
  checks: { checkId: string; name: string; type: string; status: ConsulCheckStatus; output: string }[]
}

/** What a test may look at and change directly. Direct changes are writes like any other: they wake blocked queries. */
export interface ConsulDoubleState {
  /** The raft-like index: that of the last write. */
  index(): number
  /** KV entries whose key starts with `prefix` (all by default), sorted by key. */
  kv(prefix?: string): ConsulDoubleKvEntry[]
  get(key: string): ConsulDoubleKvEntry | undefined
  /** Sets a key as `PUT /v1/kv/<key>` would. */
  put(key: string, value: string | Buffer, flags?: number): ConsulDoubleKvEntry
  /** Deletes a key (or, with `recurse`, every key starting with it) as `DELETE /v1/kv/<key>` would. */
  delete(key: string, recurse?: boolean): void
  /** Services registered through the agent API. */
  services(): ConsulDoubleService[]
  /** Sets the status of a service's checks (of one of them with `checkId`); the double never runs checks itself. */
  setCheckStatus(serviceId: string, status: ConsulCheckStatus, checkId?: string): void
  /** Blocking queries waiting right now (for tests that must know a query is parked before they write). */
  blockedQueries(): number
  /** Requests served, by "METHOD /path" without the query. */
  requestCounts(): Record<string, number>
}

export interface ConsulDouble {
  /** Base URL, e.g. http://127.0.0.1:41234 (what CONSUL_HTTP_ADDR would be). */
  readonly url: string
  readonly host: string
  readonly port: number
  readonly state: ConsulDoubleState
  /** Closes the listener and every open connection (blocked queries are cut); clients then get ECONNREFUSED. */
  pause(): Promise<void>
  /** Listens again on the same port, with the same data. */
  resume(): Promise<void>
  /** Delays every request by `ms` before it is handled (0: none). */
  setLatency(ms: number): void
  /** Stops every timer, connection and the listener for good. */
  stop(): Promise<void>
}

interface Entry {
  key: string
  /** null for an empty value, as Consul stores it */
  value: Buffer | null
  flags: number
  session: string
  lockIndex: number
  createIndex: number
  modifyIndex: number
}

interface CheckRecord {
  checkId: string
  name: string
  type: string
  ttl: boolean
  status: ConsulCheckStatus
  notes: string
  output: string
  createIndex: number
  modifyIndex: number
}

interface ServiceRecord {
  id: string
  name: string
  tags: string[]
  address: string
  port: number
  meta: Record<string, string>
  enableTagOverride: boolean
  checks: CheckRecord[]
  /** The definition as registered, to tell a real change from a repeated registration. */
  definition: string
  createIndex: number
  modifyIndex: number
}

interface Reply {
  status: number
  body: Buffer
  contentType?: string
  headers: Record<string, string>
}

/** What a write changed; blocked queries watching any of it run again. */
interface Touched {
  kv: Set<string>
  services: Set<string>
  catalog: boolean
}

/** What a blocking query depends on. */
type Watch = { kvKey: string } | { kvPrefix: string } | { service: string } | { catalog: true }

interface Waiter {
  watch: Watch
  recheck: () => void
  /** Ends the wait without an answer (the connection is gone). */
  cancel: () => void
}

/** A KV operation in the state store's terms (`/v1/kv` requests become one of these too). */
interface KvOp {
  verb: string
  key: string
  value: Buffer | null
  flags: number
  index: number
  session: string
}

/** The outcome of one KV operation: `ok` false is a failed CAS/lock (false over /v1/kv), `error` an error proper. */
interface KvOpOutcome {
  ok: boolean
  error?: string
  results: Entry[]
  /** Whether results carry values (reads) or not (writes and checks, as Consul blanks them). */
  withValues: boolean
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message)
  }
}

const NODE_NAME = 'consul-double'
const NODE_ADDRESS = '127.0.0.1'
const NODE_ID = randomUUID()
/** Consul's defaults (agent/consul/rpc.go): a blocking query waits 5 minutes unless told, 10 at most. */
const DEFAULT_WAIT_MS = 5 * 60_000
const MAX_WAIT_MS = 10 * 60_000
/** Consul's kv_max_value_size and txn limits. */
const KV_MAX_VALUE_SIZE = 512 * 1024
const MAX_TXN_OPS = 64
const MAX_BODY_BYTES = 8 * 1024 * 1024
const WRITE_VERBS = new Set(['set', 'delete', 'delete-cas', 'delete-tree', 'cas', 'lock', 'unlock'])

// Go's encoding/json matches field names case-insensitively and ignores unknown fields; the schemas below are applied
// to objects whose field names were lower-cased first (never to maps such as Meta, whose keys are data).
const ZKvOp = z.object({
  verb: z.string(),
  key: z.string().default(''),
  value: z.string().nullish(),
  flags: z.number().int().min(0).default(0),
  index: z.number().int().min(0).default(0),
  session: z.string().default(''),
})
const ZCheck = z.object({
  checkid: z.string().optional(),
  id: z.string().optional(),
  name: z.string().optional(),
  notes: z.string().optional(),
  status: z.enum(['passing', 'warning', 'critical', '']).optional(),
  http: z.string().optional(),
  tcp: z.string().optional(),
  udp: z.string().optional(),
  grpc: z.string().optional(),
  h2ping: z.string().optional(),
  args: z.array(z.string()).nullish(),
  script: z.string().optional(),
  interval: z.string().optional(),
  timeout: z.string().optional(),
  ttl: z.string().optional(),
  aliasservice: z.string().optional(),
  aliasnode: z.string().optional(),
})
const ZService = z.object({
  id: z.string().optional(),
  name: z.string().optional(),
  tags: z.array(z.string()).nullish(),
  address: z.string().optional(),
  port: z.number().int().min(0).max(65535).optional(),
  meta: z.record(z.string(), z.string()).nullish(),
  enabletagoverride: z.boolean().optional(),
  check: z.unknown().optional(),
  checks: z.array(z.unknown()).nullish(),
})
const ZCheckUpdate = z.object({ status: z.string().optional(), output: z.string().optional() })

export async function startConsulDouble(options: ConsulDoubleOptions = {}): Promise<ConsulDouble> {
  const datacenter = options.datacenter ?? 'dc1'
  let raftIndex = 10
  let entries = new Map<string, Entry>()
  /** Index at which each deleted key was deleted (Consul's graveyard), so a prefix's index never slides backwards. */
  let tombstones = new Map<string, number>()
  /** Index of the last change to the KV store (entries or tombstones): Consul's "kvs" table index. */
  let kvIndex = 0
  const services = new Map<string, ServiceRecord>()
  /** Index of the last change to the service catalog, and per service name (services or their checks). */
  let servicesIndex = raftIndex
  const serviceNameIndex = new Map<string, number>([['consul', raftIndex]])
  const waiters = new Set<Waiter>()
  const counts: Record<string, number> = {}
  const sockets = new Set<net.Socket>()
  let latencyMs = 0
  let stopped = false

  // ------------------------------------------------------------------------------------------
  // Blocking queries

  function touches(watch: Watch, touched: Touched): boolean {
    if ('kvKey' in watch) return touched.kv.has(watch.kvKey)
    if ('kvPrefix' in watch) return [...touched.kv].some((key) => key.startsWith(watch.kvPrefix))
    if ('service' in watch) return touched.services.has(watch.service)
    return touched.catalog
  }

  /** Runs after a write is committed, so a woken query sees all of it (a transaction's writes at once). */
  function notify(touched: Touched) {
    if (touched.kv.size === 0 && touched.services.size === 0 && !touched.catalog) return
    for (const waiter of [...waiters]) if (touches(waiter.watch, touched)) waiter.recheck()
  }

  /**
   * Consul's blocking query: answer at once when no index is given, when the query's index is already past it, or
   * when the given index is ahead of the store's (the client's index comes from before a reset); otherwise hold the
   * request until a write to what the query reads moves its index past the given one, or until `wait` runs out.
   */
  async function blocking(
    res: http.ServerResponse,
    params: URLSearchParams,
    watch: Watch,
    run: () => { reply: Reply; index: number },
  ): Promise<Reply | null> {
    const { minIndex, waitMs } = parseBlocking(params)
    const first = run()
    if (minIndex === 0 || minIndex > raftIndex || first.index > minIndex) return withMeta(first)
    return await new Promise<Reply | null>((resolve) => {
      let done = false
      const finish = (answer: Reply | null) => {
        if (done) return
        done = true
        clearTimeout(timer)
        waiters.delete(waiter)
        resolve(answer)
      }
      const waiter: Waiter = {
        watch,
        recheck: () => {
          const now = run()
          if (now.index > minIndex) finish(withMeta(now))
        },
        cancel: () => finish(null),
      }
      const timer = setTimeout(() => finish(withMeta(run())), waitMs)
      waiters.add(waiter)
      // The client went away, or pause() cut the connection: nothing to answer.
      res.once('close', () => finish(null))
    })
  }

  function withMeta({ reply, index }: { reply: Reply; index: number }): Reply {
    // Consul never reports index 0, so that a client's next query always blocks (agent/consul/rpc.go).
    return { ...reply, headers: { ...reply.headers, ...leaderHeaders(), 'X-Consul-Index': String(Math.max(1, index)) } }
  }

  // ------------------------------------------------------------------------------------------
  // KV store

  /** Consul's index for a listing: the newest entry or tombstone under the prefix, else the whole table's. */
  function prefixIndex(prefix: string): number {
    if (prefix === '') return kvIndex
    let max = 0
    for (const entry of entries.values()) if (entry.key.startsWith(prefix) && entry.modifyIndex > max) max = entry.modifyIndex
    for (const [key, index] of tombstones) if (key.startsWith(prefix) && index > max) max = index
    return max === 0 ? kvIndex : max
  }

  function sortedUnder(map: Map<string, Entry>, prefix: string): Entry[] {
    return [...map.values()].filter((e) => e.key.startsWith(prefix)).sort((a, b) => compareBytes(a.key, b.key))
  }

  /**
   * Runs KV operations in order against a copy of the store, as one Consul transaction at raft index `idx` (0 for a
   * read-only one): later operations see earlier ones, every error is collected, and nothing is kept unless all
   * succeed. Returns the outcomes and, when committed, what changed.
   */
  function runKv(ops: KvOp[], idx: number): { outcomes: KvOpOutcome[]; errors: { OpIndex: number; What: string }[] } {
    const staged = new Map(entries)
    const stagedTombstones = new Map(tombstones)
    const touched = new Set<string>()
    const outcomes: KvOpOutcome[] = []
    const errors: { OpIndex: number; What: string }[] = []

    const remove = (entry: Entry) => {
      staged.delete(entry.key)
      stagedTombstones.set(entry.key, idx)
      touched.add(entry.key)
    }
    const set = (op: KvOp): Entry => {
      const existing = staged.get(op.key)
      // An unchanged entry is not written at all, so its ModifyIndex stays and no blocked query wakes (Consul 1.x).
      if (existing && sameBytes(existing.value, op.value) && existing.flags === op.flags) return existing
      const entry: Entry = {
        key: op.key,
        value: op.value,
        flags: op.flags,
        session: existing?.session ?? '',
        lockIndex: existing?.lockIndex ?? 0,
        createIndex: existing?.createIndex ?? idx,
        modifyIndex: idx,
      }
      staged.set(op.key, entry)
      touched.add(op.key)
      return entry
    }

    for (const op of ops) {
      const existing = staged.get(op.key)
      const outcome: KvOpOutcome = { ok: true, results: [], withValues: false }
      const q = JSON.stringify(op.key)
      switch (op.verb) {
        case 'set':
          outcome.results.push(set(op))
          break
        case 'cas': {
          const allowed = op.index === 0 ? !existing : existing?.modifyIndex === op.index
          if (allowed) outcome.results.push(set(op))
          else Object.assign(outcome, { ok: false, error: `failed to set key ${q}, index is stale` })
          break
        }
        case 'delete':
          if (existing) remove(existing)
          break
        case 'delete-cas':
          // Consul answers true for a key that is already gone.
          if (existing && existing.modifyIndex !== op.index)
            Object.assign(outcome, { ok: false, error: `failed to delete key ${q}, index is stale` })
          else if (existing) remove(existing)
          break
        case 'delete-tree':
          for (const entry of sortedUnder(staged, op.key)) remove(entry)
          break
        case 'get':
          if (existing) Object.assign(outcome, { results: [existing], withValues: true })
          else outcome.error = `key ${q} doesn't exist`
          break
        case 'get-or-empty':
          Object.assign(outcome, {
            results: [existing ?? { key: op.key, value: null, flags: op.flags, session: '', lockIndex: 0, createIndex: 0, modifyIndex: 0 }],
            withValues: true,
          })
          break
        case 'get-tree':
          Object.assign(outcome, { results: sortedUnder(staged, op.key), withValues: true })
          break
        case 'check-index':
          if (!existing) outcome.error = `failed to check index, key ${q} doesn't exist`
          else if (existing.modifyIndex !== op.index)
            outcome.error = `failed index check for key ${q}, current modify index ${existing.modifyIndex} != ${op.index}`
          else outcome.results.push(existing)
          break
        case 'check-not-exists':
          if (existing) outcome.error = `key ${q} exists`
          break
        case 'check-session':
          if (!existing) outcome.error = `failed to check session, key ${q} doesn't exist`
          else if (existing.session !== op.session)
            outcome.error = `failed session check for key ${q}, current session ${JSON.stringify(existing.session)} != ${JSON.stringify(op.session)}`
          else outcome.results.push(existing)
          break
        case 'lock':
          // The double has no sessions, so no session exists to lock with.
          outcome.error = op.session === '' ? 'missing session' : `invalid session ${JSON.stringify(op.session)}`
          break
        case 'unlock':
          // Nothing can be locked (no sessions), so the given session never holds the key.
          if (op.session === '') outcome.error = 'missing session'
          else Object.assign(outcome, { ok: false, error: `failed to unlock key ${q}, lock isn't held, or is held by another session` })
          break
        default:
          outcome.error = `unknown KV verb ${JSON.stringify(op.verb)}`
      }
      if (outcome.error !== undefined) errors.push({ OpIndex: outcomes.length, What: outcome.error })
      outcomes.push(outcome)
    }

    if (errors.length === 0 && idx > 0) {
      entries = staged
      tombstones = stagedTombstones
      if (touched.size > 0) kvIndex = idx
      notify({ kv: touched, services: new Set(), catalog: false })
    }
    return { outcomes, errors }
  }

  function entryJson(entry: Entry, withValue: boolean) {
    return {
      LockIndex: entry.lockIndex,
      Key: entry.key,
      Flags: entry.flags,
      Value: withValue && entry.value ? entry.value.toString('base64') : null,
      ...(entry.session ? { Session: entry.session } : {}),
      CreateIndex: entry.createIndex,
      ModifyIndex: entry.modifyIndex,
    }
  }

  function kvGet(key: string, params: URLSearchParams): { reply: Reply; index: number } {
    if (params.has('keys')) {
      const separator = params.get('separator') ?? params.get('seperator') ?? ''
      const keys: string[] = []
      for (const entry of sortedUnder(entries, key)) {
        const at = separator ? entry.key.indexOf(separator, key.length) : -1
        const listed = at >= 0 ? entry.key.slice(0, at + separator.length) : entry.key
        if (keys[keys.length - 1] !== listed) keys.push(listed)
      }
      const index = prefixIndex(key)
      // Consul answers an empty list for the root, 404 for any other prefix without keys.
      if (keys.length === 0 && key !== '') return { reply: empty(404), index }
      return { reply: json(keys), index }
    }
    if (params.has('recurse')) {
      const found = sortedUnder(entries, key)
      const index = prefixIndex(key)
      if (found.length === 0) return { reply: empty(404), index }
      return { reply: json(found.map((e) => entryJson(e, true))), index }
    }
    const entry = entries.get(key)
    if (!entry) return { reply: empty(404), index: kvIndex }
    if (params.has('raw')) {
      const reply: Reply = {
        status: 200,
        body: entry.value ?? Buffer.alloc(0),
        contentType: 'text/plain',
        headers: { 'X-Content-Type-Options': 'nosniff', 'Content-Security-Policy': 'sandbox' },
      }
      return { reply, index: entry.modifyIndex }
    }
    return { reply: json([entryJson(entry, true)]), index: entry.modifyIndex }
  }

  async function kvEndpoint(req: http.IncomingMessage, res: http.ServerResponse, key: string, params: URLSearchParams) {
    const method = req.method ?? 'GET'
    if (method === 'GET') {
      if (!params.has('keys') && !params.has('recurse') && key === '') throw new HttpError(400, 'Missing key name')
      const watch: Watch = params.has('keys') || params.has('recurse') ? { kvPrefix: key } : { kvKey: key }
      return await blocking(res, params, watch, () => kvGet(key, params))
    }
    if (method === 'PUT') {
      if (key === '') throw new HttpError(400, 'Missing key name')
      conflictingFlags(params, ['cas', 'acquire', 'release'])
      const op: KvOp = { verb: 'set', key, value: null, flags: 0, index: 0, session: '' }
      if (params.has('flags')) op.flags = parseUint(params.get('flags'))
      if (params.has('cas')) Object.assign(op, { verb: 'cas', index: parseUint(params.get('cas')) })
      if (params.has('acquire')) Object.assign(op, { verb: 'lock', session: params.get('acquire') ?? '' })
      if (params.has('release')) Object.assign(op, { verb: 'unlock', session: params.get('release') ?? '' })
      const body = await readBody(req, KV_MAX_VALUE_SIZE, (size) =>
        [
          `Request body(${size} bytes) too large, max size: ${KV_MAX_VALUE_SIZE} bytes.`,
          'See https://developer.hashicorp.com/docs/agent/config/config-files#kv_max_value_size.',
        ].join(' '),
      )
      op.value = body.length > 0 ? body : null
      return json(applyOne(op))
    }
    if (method === 'DELETE') {
      conflictingFlags(params, ['recurse', 'cas'])
      const op: KvOp = { verb: 'delete', key, value: null, flags: 0, index: 0, session: '' }
      if (params.has('recurse')) op.verb = 'delete-tree'
      else if (key === '') throw new HttpError(400, 'Missing key name')
      if (params.has('cas')) Object.assign(op, { verb: 'delete-cas', index: parseUint(params.get('cas')) })
      return json(applyOne(op))
    }
    throw methodNotAllowed(method, ['GET', 'PUT', 'DELETE'])
  }

  /** One /v1/kv write: like Consul's KVS.Apply, an error is a 500 and a failed CAS or lock is `false`. */
  function applyOne(op: KvOp): boolean {
    const { outcomes } = runKv([op], ++raftIndex)
    const outcome = outcomes[0]
    if (!outcome) throw new HttpError(500, 'no outcome')
    if (outcome.ok && outcome.error !== undefined) throw new HttpError(500, outcome.error)
    return outcome.ok
  }

  async function txnEndpoint(req: http.IncomingMessage) {
    if (req.method !== 'PUT') throw methodNotAllowed(req.method ?? 'GET', ['PUT'])
    const raw = await readBody(req, MAX_BODY_BYTES, () => `Request body too large, max size: ${MAX_BODY_BYTES} bytes`)
    const ops = parseTxn(raw)
    const writes = ops.some((op) => WRITE_VERBS.has(op.verb))
    // A transaction that only reads is answered without going through raft, so it takes no index.
    const { outcomes, errors } = runKv(ops, writes ? ++raftIndex : 0)
    const headers = writes ? {} : leaderHeaders()
    if (errors.length > 0) return json({ Results: null, Errors: errors }, 409, headers)
    const results = outcomes.flatMap((o) => o.results.map((e) => ({ KV: entryJson(e, o.withValues) })))
    return json({ Results: results, Errors: null }, 200, headers)
  }

  // ------------------------------------------------------------------------------------------
  // Services and health

  function touchServices(idx: number, names: string[], catalog: boolean) {
    for (const name of names) serviceNameIndex.set(name, idx)
    if (catalog) servicesIndex = idx
    notify({ kv: new Set(), services: new Set(names), catalog })
  }

  function register(body: unknown) {
    const parsed = ZService.safeParse(lowerKeys(body))
    if (!parsed.success) throw new HttpError(400, `Request decode failed: ${z.prettifyError(parsed.error)}`)
    const def = parsed.data
    if (!def.name) throw new HttpError(400, 'Missing service name')
    const id = def.id || def.name
    const rawChecks = def.checks ?? (def.check !== undefined && def.check !== null ? [def.check] : [])
    const checkDefs = rawChecks.map((raw) => {
      const check = ZCheck.safeParse(lowerKeys(raw))
      if (!check.success) throw new HttpError(400, `Request decode failed: ${z.prettifyError(check.error)}`)
      const type = checkType(check.data)
      if (!type) throw new HttpError(400, 'Invalid check: must have exactly one of TTL, HTTP, TCP, UDP, GRPC, H2PING, Args or AliasService')
      if (type !== 'ttl' && type !== 'alias' && !check.data.interval)
        throw new HttpError(400, `Invalid check: Interval must be > 0 for ${type} checks`)
      return { ...check.data, type }
    })
    const checkIds = checkDefs.map((c, i) => c.checkid || c.id || (checkDefs.length === 1 ? `service:${id}` : `service:${id}:${i + 1}`))
    if (new Set(checkIds).size !== checkIds.length) throw new HttpError(400, 'Invalid check: duplicate CheckID')
    const definition = JSON.stringify({ ...def, checks: checkDefs, check: undefined })
    const existing = services.get(id)
    if (existing && existing.definition === definition) return

    const idx = ++raftIndex
    const checks = checkDefs.map((c, i): CheckRecord => {
      const checkId = checkIds[i] ?? `service:${id}`
      const previous = existing?.checks.find((p) => p.checkId === checkId)
      return {
        checkId,
        name: c.name || `Service '${def.name}' check`,
        type: c.type,
        ttl: c.type === 'ttl',
        // A re-registration keeps a known check's status (the agent snapshots check state); a new check starts critical.
        status: previous?.status ?? (c.status || 'critical'),
        notes: c.notes ?? '',
        output: previous?.output ?? '',
        createIndex: previous?.createIndex ?? idx,
        modifyIndex: idx,
      }
    })
    services.set(id, {
      id,
      name: def.name,
      tags: def.tags ?? [],
      address: def.address ?? '',
      port: def.port ?? 0,
      meta: def.meta ?? {},
      enableTagOverride: def.enabletagoverride ?? false,
      checks,
      definition,
      createIndex: existing?.createIndex ?? idx,
      modifyIndex: idx,
    })
    touchServices(idx, [...new Set([def.name, ...(existing ? [existing.name] : [])])], true)
  }

  function deregister(id: string) {
    const service = services.get(id)
    if (!service)
      throw new HttpError(404, `Unknown service ID ${JSON.stringify(id)}. Ensure that the service ID is passed, not the service name.`)
    services.delete(id)
    touchServices(++raftIndex, [service.name], true)
  }

  function findCheck(checkId: string): { service: ServiceRecord; check: CheckRecord } {
    for (const service of services.values()) {
      const check = service.checks.find((c) => c.checkId === checkId)
      if (check) return { service, check }
    }
    throw new HttpError(404, `Unknown check ID ${JSON.stringify(checkId)}. Ensure that the check ID is passed, not the check name.`)
  }

  function updateCheck(service: ServiceRecord, check: CheckRecord, status: ConsulCheckStatus, output?: string) {
    if (output !== undefined) check.output = output
    // Only a status change reaches the catalog at once (Consul defers output-only changes).
    if (check.status === status) return
    const idx = ++raftIndex
    check.status = status
    check.modifyIndex = idx
    touchServices(idx, [service.name], false)
  }

  function agentServiceJson(s: ServiceRecord) {
    return {
      ID: s.id,
      Service: s.name,
      Tags: s.tags,
      Meta: s.meta,
      Port: s.port,
      Address: s.address,
      Weights: { Passing: 1, Warning: 1 },
      EnableTagOverride: s.enableTagOverride,
      Datacenter: datacenter,
    }
  }

  function nodeJson() {
    return {
      ID: NODE_ID,
      Node: NODE_NAME,
      Address: NODE_ADDRESS,
      Datacenter: datacenter,
      TaggedAddresses: { lan: NODE_ADDRESS, wan: NODE_ADDRESS },
      Meta: { 'consul-network-segment': '' },
      CreateIndex: 5,
      ModifyIndex: 5,
    }
  }

  /** The node's own check, which Consul lists with every service on the node. */
  function serfHealthJson() {
    return checkJson(
      {
        checkId: 'serfHealth',
        name: 'Serf Health Status',
        type: '',
        ttl: false,
        status: 'passing',
        notes: '',
        output: 'Agent alive and reachable',
        createIndex: 5,
        modifyIndex: 5,
      },
      undefined,
    )
  }

  function checkJson(c: CheckRecord, s: ServiceRecord | undefined) {
    return {
      Node: NODE_NAME,
      CheckID: c.checkId,
      Name: c.name,
      Status: c.status,
      Notes: c.notes,
      Output: c.output,
      ServiceID: s?.id ?? '',
      ServiceName: s?.name ?? '',
      ServiceTags: s?.tags ?? [],
      Type: c.type,
      Definition: {},
      CreateIndex: c.createIndex,
      ModifyIndex: c.modifyIndex,
    }
  }

  /** The "consul" service every server agent runs; it is in the catalog, not in the agent's own service list. */
  const consulService: ServiceRecord = {
    id: 'consul',
    name: 'consul',
    tags: [],
    address: '',
    port: 8300,
    meta: {},
    enableTagOverride: false,
    checks: [],
    definition: '',
    createIndex: raftIndex,
    modifyIndex: raftIndex,
  }

  function healthService(name: string, params: URLSearchParams) {
    const passingParam = params.get('passing')
    const passingOnly = passingParam !== null && passingParam !== 'false' && passingParam !== '0'
    const tags = params.getAll('tag')
    const found = [consulService, ...services.values()]
      .filter((s) => s.name === name && tags.every((t) => s.tags.includes(t)))
      .filter((s) => !passingOnly || s.checks.every((c) => c.status === 'passing'))
      .sort((a, b) => compareBytes(a.id, b.id))
      .map((s) => ({
        Node: nodeJson(),
        Service: {
          ID: s.id,
          Service: s.name,
          Tags: s.tags,
          Address: s.address,
          Meta: s.meta,
          Port: s.port,
          Weights: { Passing: 1, Warning: 1 },
          EnableTagOverride: s.enableTagOverride,
          CreateIndex: s.createIndex,
          ModifyIndex: s.modifyIndex,
        },
        Checks: [serfHealthJson(), ...s.checks.map((c) => checkJson(c, s))],
      }))
    return { reply: json(found), index: serviceNameIndex.get(name) ?? servicesIndex }
  }

  function catalogServices() {
    const byName: Record<string, Set<string>> = { consul: new Set() }
    for (const s of services.values()) {
      const tags = (byName[s.name] ??= new Set())
      for (const tag of s.tags) tags.add(tag)
    }
    const body = Object.fromEntries(
      Object.entries(byName)
        .sort(([a], [b]) => compareBytes(a, b))
        .map(([name, tags]) => [name, [...tags].sort(compareBytes)]),
    )
    return { reply: json(body), index: servicesIndex }
  }

  // ------------------------------------------------------------------------------------------
  // HTTP

  function checkAcl(req: http.IncomingMessage, params: URLSearchParams) {
    if (options.token === undefined) return
    const header = req.headers['x-consul-token']
    const given = (Array.isArray(header) ? header[0] : header) || bearer(req.headers.authorization) || params.get('token') || ''
    // No token means Consul's anonymous token, which a default-deny ACL setup lets do nothing.
    if (given === '') throw new HttpError(403, 'Permission denied')
    if (given !== options.token) throw new HttpError(403, 'ACL not found')
  }

  async function route(req: http.IncomingMessage, res: http.ServerResponse): Promise<Reply | null> {
    const url = new URL(req.url ?? '/', 'http://consul.invalid')
    const method = req.method ?? 'GET'
    const params = url.searchParams
    const path = url.pathname

    if (path === '/v1/status/leader' || path === '/v1/status/peers') {
      if (method !== 'GET') throw methodNotAllowed(method, ['GET'])
      return json(path.endsWith('leader') ? `${NODE_ADDRESS}:8300` : [`${NODE_ADDRESS}:8300`])
    }
    if (!path.startsWith('/v1/')) throw new HttpError(404, '404 page not found\n')
    checkAcl(req, params)
    const dc = params.get('dc')
    if (dc && dc !== datacenter && !path.startsWith('/v1/agent/')) throw new HttpError(500, 'No path to datacenter')

    if (path === '/v1/kv' || path.startsWith('/v1/kv/')) {
      let key: string
      try {
        key = decodeURIComponent(path.slice('/v1/kv/'.length))
      } catch {
        throw new HttpError(400, 'Invalid URL escape in key')
      }
      return await kvEndpoint(req, res, key, params)
    }
    if (path === '/v1/txn') return await txnEndpoint(req)

    if (path === '/v1/agent/services') {
      if (method !== 'GET') throw methodNotAllowed(method, ['GET'])
      // Consul's /v1/agent/services does not support blocking queries: it answers at once, without X-Consul-Index.
      return json(
        Object.fromEntries([...services.values()].sort((a, b) => compareBytes(a.id, b.id)).map((s) => [s.id, agentServiceJson(s)])),
      )
    }
    if (path === '/v1/agent/service/register') {
      if (method !== 'PUT') throw methodNotAllowed(method, ['PUT'])
      register(parseJson(await readBody(req, MAX_BODY_BYTES, () => 'Request body too large')))
      return empty(200)
    }
    const deregisterMatch = /^\/v1\/agent\/service\/deregister\/(.+)$/.exec(path)
    if (deregisterMatch?.[1] !== undefined) {
      if (method !== 'PUT') throw methodNotAllowed(method, ['PUT'])
      deregister(decodeURIComponent(deregisterMatch[1]))
      return empty(200)
    }
    const ttlMatch = /^\/v1\/agent\/check\/(pass|warn|fail|update)\/(.+)$/.exec(path)
    if (ttlMatch?.[1] !== undefined && ttlMatch[2] !== undefined) {
      if (method !== 'PUT') throw methodNotAllowed(method, ['PUT'])
      const checkId = decodeURIComponent(ttlMatch[2])
      const { service, check } = findCheck(checkId)
      if (!check.ttl) throw new HttpError(500, `CheckID ${JSON.stringify(checkId)} does not have associated TTL`)
      if (ttlMatch[1] === 'update') {
        const update = ZCheckUpdate.safeParse(lowerKeys(parseJson(await readBody(req, MAX_BODY_BYTES, () => 'Request body too large'))))
        if (!update.success) throw new HttpError(400, `Request decode failed: ${z.prettifyError(update.error)}`)
        const status = update.data.status
        if (status !== 'passing' && status !== 'warning' && status !== 'critical') throw new HttpError(400, 'Invalid check status')
        updateCheck(service, check, status, update.data.output ?? '')
      } else {
        const status = ttlMatch[1] === 'pass' ? 'passing' : ttlMatch[1] === 'warn' ? 'warning' : 'critical'
        updateCheck(service, check, status, params.get('note') ?? '')
      }
      return empty(200)
    }
    if (path === '/v1/agent/self') {
      if (method !== 'GET') throw methodNotAllowed(method, ['GET'])
      return json({
        Config: { Datacenter: datacenter, NodeName: NODE_NAME, NodeID: NODE_ID, Server: true, Version: '1.19.0' },
        Member: { Name: NODE_NAME, Addr: NODE_ADDRESS, Port: 8301, Tags: { dc: datacenter, role: 'consul' }, Status: 1 },
        Meta: { 'consul-network-segment': '' },
      })
    }
    if (path === '/v1/catalog/services') {
      if (method !== 'GET') throw methodNotAllowed(method, ['GET'])
      return await blocking(res, params, { catalog: true }, catalogServices)
    }
    const healthMatch = /^\/v1\/health\/service\/(.*)$/.exec(path)
    if (healthMatch?.[1] !== undefined) {
      if (method !== 'GET') throw methodNotAllowed(method, ['GET'])
      const name = decodeURIComponent(healthMatch[1])
      if (name === '') throw new HttpError(400, 'Missing service name')
      return await blocking(res, params, { service: name }, () => healthService(name, params))
    }
    throw new HttpError(404, '404 page not found\n')
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse) {
    try {
      if (latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, latencyMs))
      const reply = await route(req, res)
      if (reply === null || res.destroyed || res.headersSent) return
      const headers: Record<string, string> = { ...reply.headers, 'Content-Length': String(reply.body.length) }
      if (reply.contentType) headers['Content-Type'] = reply.contentType
      res.writeHead(reply.status, headers).end(reply.body)
    } catch (err) {
      if (res.destroyed || res.headersSent) return
      const status = err instanceof HttpError ? err.status : 500
      const message = err instanceof Error ? err.message : String(err)
      const headers = err instanceof HttpError ? err.headers : {}
      res.writeHead(status, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' }).end(message)
    }
  }

  function createServer(): http.Server {
    const server = http.createServer((req, res) => {
      const countKey = `${req.method} ${(req.url ?? '/').split('?')[0]}`
      counts[countKey] = (counts[countKey] ?? 0) + 1
      void handle(req, res)
    })
    // Blocking queries hold a request for up to 10 minutes: no server-side request or header timeout may cut them.
    server.requestTimeout = 0
    server.keepAliveTimeout = 5000
    server.on('connection', (socket) => {
      sockets.add(socket)
      socket.once('close', () => sockets.delete(socket))
    })
    return server
  }

  async function listen(server: http.Server, port: number): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, NODE_ADDRESS, () => {
        server.off('error', reject)
        resolve()
      })
    })
    const address = server.address()
    if (address === null || typeof address === 'string') throw new Error('the server is not listening on a TCP port')
    return address.port
  }

  async function close(server: http.Server) {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()))
    // Blocked queries end with their connections; dropped here at once so no write can answer one meanwhile.
    for (const waiter of [...waiters]) waiter.cancel()
    for (const socket of sockets) socket.destroy()
    sockets.clear()
    await closed
  }

  let server: http.Server | null = createServer()
  const port = await listen(server, 0)

  const entryView = (e: Entry): ConsulDoubleKvEntry => ({
    key: e.key,
    value: e.value?.toString('utf8') ?? '',
    flags: e.flags,
    createIndex: e.createIndex,
    modifyIndex: e.modifyIndex,
  })

  const state: ConsulDoubleState = {
    index: () => raftIndex,
    kv: (prefix = '') => sortedUnder(entries, prefix).map(entryView),
    get: (key) => {
      const entry = entries.get(key)
      return entry ? entryView(entry) : undefined
    },
    put(key, value, flags = 0) {
      const bytes = Buffer.from(value)
      applyOne({ verb: 'set', key, value: bytes.length > 0 ? bytes : null, flags, index: 0, session: '' })
      const entry = entries.get(key)
      if (!entry) throw new Error(`the double lost key ${key}`)
      return entryView(entry)
    },
    delete(key, recurse = false) {
      applyOne({ verb: recurse ? 'delete-tree' : 'delete', key, value: null, flags: 0, index: 0, session: '' })
    },
    services: () =>
      [...services.values()].map((s) => ({
        id: s.id,
        name: s.name,
        tags: [...s.tags],
        address: s.address,
        port: s.port,
        meta: { ...s.meta },
        checks: s.checks.map((c) => ({ checkId: c.checkId, name: c.name, type: c.type, status: c.status, output: c.output })),
      })),
    setCheckStatus(serviceId, status, checkId) {
      const service = services.get(serviceId)
      if (!service) throw new Error(`the double has no service ${serviceId}`)
      const checks = service.checks.filter((c) => checkId === undefined || c.checkId === checkId)
      if (checks.length === 0) throw new Error(`service ${serviceId} has no check ${checkId ?? '(any)'}`)
      for (const check of checks) updateCheck(service, check, status)
    },
    blockedQueries: () => waiters.size,
    requestCounts: () => ({ ...counts }),
  }

  return {
    url: `http://${NODE_ADDRESS}:${port}`,
    host: NODE_ADDRESS,
    port,
    state,
    async pause() {
      if (!server) return
      const current = server
      server = null
      await close(current)
    },
    async resume() {
      if (server || stopped) return
      server = createServer()
      await listen(server, port)
    },
    setLatency(ms) {
      latencyMs = Math.max(0, ms)
    },
    async stop() {
      stopped = true
      const current = server
      server = null
      if (current) await close(current)
    },
  }
}

function parseBlocking(params: URLSearchParams): { minIndex: number; waitMs: number } {
  let minIndex = 0
  const index = params.get('index')
  if (index !== null && index !== '') {
    if (!/^\d+$/.test(index)) throw new HttpError(400, 'Invalid index')
    minIndex = Number(index)
  }
  let waitMs = DEFAULT_WAIT_MS
  const wait = params.get('wait')
  if (wait !== null && wait !== '') {
    const parsed = parseGoDuration(wait)
    if (parsed === undefined) throw new HttpError(400, 'Invalid wait time')
    waitMs = parsed <= 0 ? DEFAULT_WAIT_MS : Math.min(parsed, MAX_WAIT_MS)
  }
  return { minIndex, waitMs }
}

const DURATION_UNITS_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, μs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

/** Go's time.ParseDuration ("1m30s", "500ms", "0"), in milliseconds; undefined when Go would refuse it. */
export function parseGoDuration(text: string): number | undefined {
  const sign = text.startsWith('-') ? -1 : 1
  const rest = text.replace(/^[-+]/, '')
  if (rest === '0') return 0
  if (rest === '') return undefined
  const part = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y
  let total = 0
  let at = 0
  while (at < rest.length) {
    part.lastIndex = at
    const match = part.exec(rest)
    const unit = match?.[2] === undefined ? undefined : DURATION_UNITS_MS[match[2]]
    if (!match?.[1] || unit === undefined) return undefined
    total += Number(match[1]) * unit
    at = part.lastIndex
  }
  return sign * total
}

function checkType(c: z.infer<typeof ZCheck>): string | undefined {
  if (c.http) return 'http'
  if (c.tcp) return 'tcp'
  if (c.udp) return 'udp'
  if (c.grpc) return 'grpc'
  if (c.h2ping) return 'h2ping'
  if ((c.args && c.args.length > 0) || c.script) return 'script'
  if (c.ttl) return 'ttl'
  if (c.aliasservice || c.aliasnode) return 'alias'
  return undefined
}

/** Parses a /v1/txn body into KV operations, with Consul's answers to a malformed one (400) or a too large one (413). */
function parseTxn(raw: Buffer): KvOp[] {
  let body: unknown
  try {
    body = JSON.parse(raw.toString('utf8'))
  } catch (err) {
    throw new HttpError(400, `Failed to parse body: ${err instanceof Error ? err.message : String(err)}`)
  }
  if (!Array.isArray(body)) throw new HttpError(400, 'Failed to parse body: json: cannot unmarshal into Go value of type api.TxnOps')
  if (body.length > MAX_TXN_OPS) throw new HttpError(413, `Transaction contains too many operations (${body.length} > ${MAX_TXN_OPS})`)
  const ops: KvOp[] = []
  for (const item of body) {
    const op = lowerKeys(item)
    if (op.node !== undefined || op.service !== undefined || op.check !== undefined)
      throw new HttpError(400, 'Failed to parse body: the Consul double supports only KV operations in transactions')
    // Consul drops an element that names no operation type.
    if (op.kv === undefined || op.kv === null) continue
    const parsed = ZKvOp.safeParse(lowerKeys(op.kv))
    if (!parsed.success) throw new HttpError(400, `Failed to parse body: ${z.prettifyError(parsed.error)}`)
    const { value, ...rest } = parsed.data
    let bytes: Buffer | null = null
    if (value !== undefined && value !== null) {
      if (value.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(value))
        throw new HttpError(400, 'Failed to parse body: failed to decode value: illegal base64 data')
      bytes = value.length > 0 ? Buffer.from(value, 'base64') : null
    }
    if (bytes && bytes.length > KV_MAX_VALUE_SIZE)
      throw new HttpError(413, `Value for key ${JSON.stringify(rest.key)} is too large (${bytes.length} > ${KV_MAX_VALUE_SIZE} bytes)`)
    ops.push({ ...rest, value: bytes })
  }
  return ops
}

function conflictingFlags(params: URLSearchParams, flags: string[]) {
  if (flags.filter((f) => params.has(f)).length > 1) throw new HttpError(400, `Conflicting flags: ${params.toString()}\n`)
}

function parseUint(text: string | null): number {
  if (text === null || !/^\d+$/.test(text))
    throw new HttpError(500, `strconv.ParseUint: parsing ${JSON.stringify(text ?? '')}: invalid syntax`)
  return Number(text)
}

function methodNotAllowed(method: string, allowed: string[]): HttpError {
  return new HttpError(405, `method ${method} not allowed`, { Allow: allowed.join(',') })
}

function leaderHeaders(): Record<string, string> {
  return { 'X-Consul-KnownLeader': 'true', 'X-Consul-LastContact': '0' }
}

function json(value: unknown, status = 200, headers: Record<string, string> = {}): Reply {
  return { status, body: Buffer.from(JSON.stringify(value)), contentType: 'application/json', headers }
}

function empty(status: number): Reply {
  return { status, body: Buffer.alloc(0), headers: {} }
}

function parseJson(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8'))
  } catch (err) {
    throw new HttpError(400, `Request decode failed: ${err instanceof Error ? err.message : String(err)}`)
  }
}

/** The object with its field names lower-cased (Go decodes JSON field names case-insensitively); {} for a non-object. */
function lowerKeys(value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return {}
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k.toLowerCase(), v]))
}

function sameBytes(a: Buffer | null, b: Buffer | null): boolean {
  return (a ?? Buffer.alloc(0)).equals(b ?? Buffer.alloc(0))
}

/** Byte order of UTF-8 strings, as Consul's radix tree sorts keys. */
function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b))
}

function bearer(header: string | undefined): string | undefined {
  return header?.startsWith('Bearer ') ? header.slice('Bearer '.length) : undefined
}

async function readBody(req: http.IncomingMessage, limit: number, tooLarge: (size: number) => string): Promise<Buffer> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk))
    size += buf.length
    if (size > limit) throw new HttpError(413, tooLarge(size))
    chunks.push(buf)
  }
  return Buffer.concat(chunks)
}
