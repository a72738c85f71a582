/**
 * The load-balancer agent's loop: long-polls the routing tree in Consul, renders HAProxy's files, applies them through
 * haproxy.ts (runtime API or reload, as plan.ts decides) and reports what it applied under `<prefix>/lb/nodes/<node>`.
 * HAProxy is only ever touched to apply a state that parsed and rendered: whatever goes wrong with Consul or with a
 * revision, it keeps serving the last configuration it accepted.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import type { Logger } from 'pino'
import { z } from 'zod'
import type { SecretBox } from '@/lib/secrets/cipher'
import { CONSUL_PROVIDER } from '@/provisioners/consul/client'
import {
  consulKeys,
  ZAgentReport,
  ZRoutedCertificate,
  ZRoutedChallenge,
  ZRoutedInstance,
  ZRoutingRevision,
  type AgentReport,
  type RoutedCertificate,
  type RoutedChallenge,
  type RoutedInstance,
  type RoutingState,
} from '@/provisioners/consul/layout'
import { ProvisionerError } from '@/provisioners/types'
import { privateKeysOf, type DecryptedKeyCache } from './certificates'
import type { HaproxyControl } from './haproxy'
import { loadedDefaultCertificate, planChanges } from './plan'
import { renderHaproxy, type RenderOptions } from './render'

export interface BackoffOptions {
  /** the first retry's ceiling; each further failure doubles it */
  initialMs: number
  maxMs: number
}

export interface LbAgentOptions {
  consul: { address: string; token?: string }
  prefix: string
  render: RenderOptions
  /** created by the caller (main.ts from the config, tests around their own HAProxy) */
  haproxy: HaproxyControl
  heartbeatMs: number
  /** blocking-query wait, default 60 s */
  waitMs?: number
  log: Logger
  now?: () => Date
  /** retries after Consul failures and after apply failures HAProxy may get over (default 500 ms doubling to 30 s) */
  backoff?: Partial<BackoffOptions>
  /** timeout of a report write, and what a blocking query may take beyond its wait (default 10 s) */
  requestTimeoutMs?: number
  /**
   * The key ring certificates' private keys are encrypted with (LB_CERTIFICATE_KEYS). Without it, a revision with any
   * certificate is refused.
   */
  certificateKeys?: SecretBox
  /** the addresses clients reach this node at (LB_PUBLIC_ADDRESSES), reported for the hosting zone's DNS records */
  publicAddresses?: string[]
}

export type ApplyMethod = 'runtime' | 'reload' | 'none'

export interface LbAgent {
  /** first state read and applied (or refused and reported); rejects if the agent is stopped before */
  ready(): Promise<void>
  applied(): { revision: number; method: ApplyMethod | undefined }
  /** aborts the long poll, lets an apply in progress finish, writes a last report */
  stop(): Promise<void>
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 500, maxMs: 30_000 }

/** A KV entry of a `?recurse` answer (other fields ignored); `Value` is base64, null when empty. */
const ZKvEntries = z.array(z.object({ Key: z.string(), Value: z.string().nullable(), ModifyIndex: z.number().int().optional() }))
export type KvEntry = z.infer<typeof ZKvEntries>[number]

/**
 * A routing tree read from Consul: the state to apply, or why the whole revision is refused (with the revision it
 * claims, when that much could be read).
 */
export type ParsedRouting = { ok: true; state: RoutingState } | { ok: false; revision: number | undefined; error: string }

export const EMPTY_ROUTING: RoutingState = { revision: 0, publishedAt: null, instances: [], certificates: [], challenges: [] }

/** Instances already parsed, by key, with the ModifyIndex they were parsed at: an unchanged entry is not parsed again. */
export type ParsedInstanceCache = Map<string, { index: number; instance: RoutedInstance }>

/**
 * The `<prefix>/routing/` tree (a `?recurse` answer; null or [] for a 404) as a RoutingState. One entry that is not
 * valid JSON or fails its schema refuses the whole revision: applying the rest would silently drop an instance's
 * routing, while refusing keeps every site on its last good configuration and says why. So does an instance using a
 * certificate the tree does not hold. Keys other than the revision, `instances/<id>`, `certificates/<id>` and
 * `challenges/<token>` are ignored (room for later additions to the layout).
 */
export function parseRoutingTree(prefix: string, entries: readonly KvEntry[] | null, cache?: ParsedInstanceCache): ParsedRouting {
  const keys = consulKeys(prefix)
  let revision: { revision: number; publishedAt: string } | undefined
  const errors: string[] = []
  const instances: RoutedInstance[] = []
  const certificates: RoutedCertificate[] = []
  const challenges: RoutedChallenge[] = []
  const seen = new Set<string>()
  for (const entry of entries ?? []) {
    if (entry.Key === keys.revision) {
      const parsed = ZRoutingRevision.safeParse(decodeJson(entry.Value))
      if (parsed.success) revision = parsed.data
      else errors.push(`${entry.Key}: ${issues(parsed.error)}`)
    } else if (entry.Key.startsWith(keys.certificates) && !entry.Key.endsWith('/')) {
      const id = entry.Key.slice(keys.certificates.length)
      // The schema's messages name fields, never values: a key ciphertext does not end up in a report.
      const parsed = ZRoutedCertificate.safeParse(decodeJson(entry.Value))
      if (!parsed.success) errors.push(`certificate ${id}: ${issues(parsed.error)}`)
      else if (parsed.data.id !== id) errors.push(`certificate ${id}: its value is that of certificate ${parsed.data.id}`)
      else certificates.push(parsed.data)
    } else if (entry.Key.startsWith(keys.challenges) && !entry.Key.endsWith('/')) {
      const token = entry.Key.slice(keys.challenges.length)
      const parsed = ZRoutedChallenge.safeParse(decodeJson(entry.Value))
      if (!parsed.success) errors.push(`challenge ${token}: ${issues(parsed.error)}`)
      else if (parsed.data.token !== token) errors.push(`challenge ${token}: its value is that of challenge ${parsed.data.token}`)
      else challenges.push(parsed.data)
    }
  }
  for (const entry of entries ?? []) {
    if (!entry.Key.startsWith(keys.instances) || entry.Key.endsWith('/')) continue
    const id = entry.Key.slice(keys.instances.length)
    seen.add(entry.Key)
    // At 10,000 instances one change re-reads them all: decoding and validating only what changed keeps that cheap.
    const cached = entry.ModifyIndex === undefined ? undefined : cache?.get(entry.Key)
    if (cached && cached.index === entry.ModifyIndex) {
      instances.push(cached.instance)
      continue
    }
    const parsed = ZRoutedInstance.safeParse(decodeJson(entry.Value))
    if (!parsed.success) errors.push(`instance ${id}: ${issues(parsed.error)}`)
    else if (parsed.data.instanceId !== id) errors.push(`instance ${id}: its value is that of instance ${parsed.data.instanceId}`)
    else {
      instances.push(parsed.data)
      if (cache && entry.ModifyIndex !== undefined) cache.set(entry.Key, { index: entry.ModifyIndex, instance: parsed.data })
    }
  }
  if (cache) for (const key of cache.keys()) if (!seen.has(key)) cache.delete(key)
  const held = new Set(certificates.map((c) => c.id))
  for (const instance of instances)
    for (const ref of instance.certificates)
      if (!held.has(ref.id)) errors.push(`instance ${instance.instanceId}: certificate ${ref.id} is not under routing/certificates/`)
  if (errors.length) {
    const shown = errors.slice(0, 3).join('; ') + (errors.length > 3 ? ` (and ${errors.length - 3} more)` : '')
    return { ok: false, revision: revision?.revision, error: `routing revision ${revision?.revision ?? '?'} refused: ${shown}` }
  }
  instances.sort((a, b) => compare(a.instanceId, b.instanceId))
  certificates.sort((a, b) => compare(a.id, b.id))
  challenges.sort((a, b) => compare(a.token, b.token))
  return {
    ok: true,
    state: { revision: revision?.revision ?? 0, publishedAt: revision?.publishedAt ?? null, instances, certificates, challenges },
  }
}

/**
 * The state HAProxy should serve at `now`: challenges past their expiresAt are left out (an order that was abandoned
 * must not be answered for ever; the control plane removes finished ones itself).
 */
export function servedState(state: RoutingState, now: Date): RoutingState {
  const at = now.getTime()
  const live = state.challenges.filter((c) => Date.parse(c.expiresAt) > at)
  return live.length === state.challenges.length ? state : { ...state, challenges: live }
}

/** When the next served challenge expires (ms since the epoch), so the agent wakes up to stop serving it. */
export function nextExpiry(state: RoutingState): number | undefined {
  const times = state.challenges.map((c) => Date.parse(c.expiresAt))
  return times.length ? Math.min(...times) : undefined
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

function decodeJson(value: string | null): unknown {
  if (value === null) return null
  try {
    return JSON.parse(Buffer.from(value, 'base64').toString('utf8'))
  } catch {
    return 'not JSON'
  }
}

function issues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((i) => `${i.path.length ? i.path.join('.') : 'value'}: ${i.message}`)
    .join(', ')
}

/**
 * The index for the next blocking query, by Consul's rules for clients: an index that went backwards (a restored
 * snapshot, another cluster behind the same address) starts over from 0, which answers at once with the current
 * data; one below 1 (Consul bugs, a missing header) becomes 1 so that the next query still blocks.
 */
export function nextIndex(previous: number, received: number): number {
  if (!Number.isFinite(received) || received < 1) return 1
  if (received < previous) return 0
  return Math.floor(received)
}

/** Exponential backoff with jitter: between half and all of min(maxMs, initialMs·2^(attempt−1)). */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const ceiling = Math.min(options.maxMs, options.initialMs * 2 ** Math.max(0, Math.min(attempt - 1, 30)))
  return Math.round(ceiling / 2 + (random() * ceiling) / 2)
}

/** What the agent's report says, from what it knows (pure, so the fields' rules are tested on their own). */
export function agentReport(input: {
  node: string
  applied: { state: RoutingState; method: ApplyMethod; at: Date } | undefined
  lastError: { message: string; at: Date } | null
  seenRevision: number
  now: Date
  publicAddresses?: string[]
}): AgentReport {
  const { applied } = input
  const publishedAt = applied?.state.publishedAt ? Date.parse(applied.state.publishedAt) : NaN
  return ZAgentReport.parse({
    node: input.node,
    revision: applied?.state.revision ?? 0,
    appliedAt: applied ? applied.at.toISOString() : null,
    lagMs: applied && Number.isFinite(publishedAt) ? applied.at.getTime() - publishedAt : null,
    method: applied?.method ?? 'none',
    lastError: input.lastError?.message ?? null,
    lastErrorAt: input.lastError ? input.lastError.at.toISOString() : null,
    lastSeen: input.now.toISOString(),
    seenRevision: Math.max(0, input.seenRevision),
    publicAddresses: input.publicAddresses ?? [],
  })
}

/** Failures of one kind of Consul call, so that an outage is logged when it starts and when it ends, not per attempt. */
class Outage {
  private since: number | undefined
  attempts = 0

  constructor(
    private readonly log: Logger,
    private readonly what: string,
  ) {}

  failed(err: unknown): void {
    this.attempts++
    if (this.since !== undefined) return
    this.since = Date.now()
    this.log.warn({ error: message(err) }, `${this.what} failed; HAProxy keeps its configuration; retrying with backoff`)
  }

  succeeded(): void {
    if (this.since !== undefined) this.log.info({ attempts: this.attempts, outageMs: Date.now() - this.since }, `${this.what} works again`)
    this.since = undefined
    this.attempts = 0
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

/** Consul's address without any user information, as it may appear in logs and errors. */
function displayAddress(address: string): string {
  const url = new URL(address)
  url.username = ''
  url.password = ''
  return url.toString().replace(/\/+$/, '')
}

const keyPath = (key: string) => key.split('/').map(encodeURIComponent).join('/')

/** The identity of a routing state: equal fingerprints render the same files. */
const fingerprint = (state: RoutingState) => JSON.stringify(state)

export function startLbAgent(options: LbAgentOptions): LbAgent {
  const node = options.render.nodeName
  const log = options.log.child({ component: 'lb-agent', node })
  const keys = consulKeys(options.prefix)
  const address = displayAddress(options.consul.address)
  const waitMs = options.waitMs ?? 60_000
  const requestTimeoutMs = options.requestTimeoutMs ?? 10_000
  const backoff: BackoffOptions = { ...DEFAULT_BACKOFF, ...options.backoff }
  const now = options.now ?? (() => new Date())
  const headers: Record<string, string> = options.consul.token ? { 'X-Consul-Token': options.consul.token } : {}
  const stopping = new AbortController()
  const parsedInstances: ParsedInstanceCache = new Map()
  const decryptedKeys: DecryptedKeyCache = new Map()
  const readOutage = new Outage(log, `reading the routing from Consul at ${address}`)
  const reportOutage = new Outage(log, `writing this node's report to Consul at ${address}`)

  let applied: { state: RoutingState; method: ApplyMethod; at: Date; fingerprint: string } | undefined
  let lastError: { message: string; at: Date } | null = null
  /** the revision of the last state processed, applied or refused (what the report calls seenRevision) */
  let seenRevision = 0
  /** the last state that failed, so that it is not retried on every wakeup unless the failure may pass */
  let failed: { fingerprint: string; retryAt: number | undefined; attempts: number } | undefined
  /** HAProxy's default certificate as of its last reload (the runtime API cannot remove it) */
  let defaultCertificate: string | undefined
  /** when the next challenge served expires: the loop wakes up then to stop serving it */
  let expiresAt: number | undefined

  let markReady: () => void = () => {}
  let failReady: (err: Error) => void = () => {}
  const readyPromise = new Promise<void>((resolve, reject) => {
    markReady = resolve
    failReady = reject
  })
  // A caller that never awaits ready() must not get an unhandled rejection when it stops the agent early.
  readyPromise.catch(() => {})
  let isReady = false

  // The `consul` package is not used for the long poll: its HTTP agent times out sockets silent for its timeout (see
  // provisioners/consul/client.ts), its typings leave out index and wait, and its Watch owns the index and the retry
  // policy. Plain fetch gives an AbortController per request (stop() cuts the poll at once), the X-Consul-Index header
  // as it comes (so the reset rules in nextIndex apply), 404 seen as such, and the backoff and logging chosen here.
  async function readRouting(index: number, wait: number): Promise<{ index: number; parsed: ParsedRouting }> {
    const url = `${options.consul.address.replace(/\/+$/, '')}/v1/kv/${keyPath(keys.routing)}?recurse=true&index=${index}&wait=${wait}ms`
    // Consul adds up to wait/16 of jitter to a blocking query.
    const signal = AbortSignal.any([stopping.signal, AbortSignal.timeout(wait + Math.ceil(wait / 16) + requestTimeoutMs)])
    let response: Response
    try {
      response = await fetch(url, { headers, signal })
    } catch (err) {
      throw new ProvisionerError(CONSUL_PROVIDER, 'read routing', `cannot reach ${address}: ${fetchFailure(err)}`, true)
    }
    const received = Number(response.headers.get('x-consul-index') ?? NaN)
    if (response.status === 404) {
      await response.body?.cancel()
      return { index: received, parsed: { ok: true, state: EMPTY_ROUTING } }
    }
    const text = await response.text()
    if (!response.ok)
      throw new ProvisionerError(
        CONSUL_PROVIDER,
        'read routing',
        `${address} answered ${response.status}: ${text.slice(0, 200)}`,
        response.status >= 500 || response.status === 429,
      )
    let entries: KvEntry[]
    try {
      entries = ZKvEntries.parse(JSON.parse(text))
    } catch {
      throw new ProvisionerError(CONSUL_PROVIDER, 'read routing', `${address} answered something that is not a KV listing`, true)
    }
    return { index: received, parsed: parseRoutingTree(options.prefix, entries, parsedInstances) }
  }

  async function writeReport(): Promise<void> {
    const report = agentReport({ node, applied, lastError, seenRevision, now: now(), publicAddresses: options.publicAddresses })
    try {
      let response: Response
      try {
        response = await fetch(`${options.consul.address.replace(/\/+$/, '')}/v1/kv/${keyPath(keys.agent(node))}`, {
          method: 'PUT',
          headers: { ...headers, 'content-type': 'application/json' },
          body: JSON.stringify(report),
          signal: AbortSignal.timeout(requestTimeoutMs),
        })
      } catch (err) {
        throw new ProvisionerError(CONSUL_PROVIDER, 'write report', `cannot reach ${address}: ${fetchFailure(err)}`, true)
      }
      const text = await response.text()
      if (!response.ok || text.trim() !== 'true')
        throw new ProvisionerError(CONSUL_PROVIDER, 'write report', `${address} answered ${response.status}: ${text.slice(0, 200)}`, true)
      reportOutage.succeeded()
    } catch (err) {
      reportOutage.failed(err)
    }
  }

  // Reports are written one at a time, each with what the agent knows when it is sent; calls made while one is being
  // written share the next one (a slow Consul does not pile up heartbeats).
  let writing: Promise<void> | undefined
  let queued: Promise<void> | undefined
  function report(): Promise<void> {
    if (!writing) {
      writing = writeReport().finally(() => (writing = undefined))
      return writing
    }
    queued ??= writing.then(() => {
      queued = undefined
      return report()
    })
    return queued
  }

  /** Applies the state read from Consul, if there is anything to do; never throws. */
  async function process(parsed: ParsedRouting): Promise<void> {
    if (!parsed.ok) {
      const print = `refused:${parsed.error}`
      if (failed?.fingerprint === print) return
      failed = { fingerprint: print, retryAt: undefined, attempts: 1 }
      seenRevision = parsed.revision ?? seenRevision
      lastError = { message: parsed.error, at: now() }
      log.error({ revision: parsed.revision, error: parsed.error }, 'routing revision refused; HAProxy keeps the last good configuration')
      await report()
      return
    }
    const next = servedState(parsed.state, now())
    expiresAt = nextExpiry(next)
    const print = fingerprint(next)
    if (applied?.fingerprint === print) {
      // Back to what runs (a refused change undone): nothing to apply, but the report must stop pointing at the refusal.
      if (seenRevision !== next.revision) {
        seenRevision = next.revision
        failed = undefined
        await report()
      }
      return
    }
    if (failed?.fingerprint === print && (failed.retryAt === undefined || Date.now() < failed.retryAt)) return
    try {
      const rendered = renderHaproxy(next, options.render, privateKeysOf(next.certificates, options.certificateKeys, decryptedKeys))
      // No previous state (a start or a restart): a reload of freshly written files, whatever HAProxy ran before.
      const plan = planChanges(applied?.state, next, options.render, defaultCertificate)
      const result = await options.haproxy.apply(rendered, plan)
      if (result.method === 'reload') defaultCertificate = loadedDefaultCertificate(next, options.render)
      applied = { state: next, method: result.method, at: now(), fingerprint: print }
      seenRevision = next.revision
      failed = undefined
      if (result.runtimeError)
        log.warn({ revision: next.revision, error: result.runtimeError }, 'runtime commands refused; reloaded instead')
      log.info(
        { revision: next.revision, method: result.method, ...(plan.kind === 'reload' ? { reason: plan.reason } : {}) },
        'routing revision applied',
      )
    } catch (err) {
      const retryable = err instanceof ProvisionerError && err.retryable
      const attempts = failed?.fingerprint === print ? failed.attempts + 1 : 1
      failed = { fingerprint: print, retryAt: retryable ? Date.now() + backoffDelay(attempts, backoff) : undefined, attempts }
      seenRevision = next.revision
      lastError = { message: message(err), at: now() }
      log.error(
        { revision: next.revision, error: lastError.message, retrying: retryable },
        'routing revision not applied; HAProxy keeps the last good configuration',
      )
    }
    await report()
  }

  async function run(): Promise<void> {
    let index = 0
    while (!stopping.signal.aborted) {
      // A failed apply that may work later is retried when its backoff is over, or sooner if the routing changes; a
      // challenge stops being served when it expires, even if nothing else changes by then.
      const retryIn = failed?.retryAt === undefined ? undefined : failed.retryAt - Date.now()
      const expiresIn = expiresAt === undefined ? undefined : expiresAt - now().getTime() + 1
      const wait = Math.max(1, Math.min(waitMs, retryIn ?? waitMs, expiresIn ?? waitMs))
      let answer: { index: number; parsed: ParsedRouting }
      try {
        answer = await readRouting(index, wait)
      } catch (err) {
        if (stopping.signal.aborted) break
        readOutage.failed(err)
        await pause(backoffDelay(readOutage.attempts, backoff))
        continue
      }
      readOutage.succeeded()
      index = nextIndex(index, answer.index)
      await process(answer.parsed)
      if (!isReady) {
        isReady = true
        markReady()
        heartbeat = setInterval(() => void report(), options.heartbeatMs)
        heartbeat.unref()
      }
    }
  }

  async function pause(ms: number) {
    await sleep(ms, undefined, { signal: stopping.signal }).catch(() => undefined)
  }

  let heartbeat: NodeJS.Timeout | undefined
  log.info({ consul: address, prefix: options.prefix, heartbeatMs: options.heartbeatMs }, 'load-balancer agent starting')
  const loop = run().catch((err: unknown) => {
    // process() and readRouting() handle their failures; reaching this is a bug, and the agent must say so loudly.
    log.fatal({ error: message(err) }, 'load-balancer agent loop crashed')
    throw err
  })
  loop.catch(() => {})

  let stopped: Promise<void> | undefined
  return {
    ready: () => readyPromise,
    applied: () => ({ revision: applied?.state.revision ?? 0, method: applied?.method }),
    stop() {
      stopped ??= (async () => {
        stopping.abort()
        clearInterval(heartbeat)
        if (!isReady) failReady(new Error('the load-balancer agent stopped before it read the routing'))
        await loop.catch(() => {})
        if (isReady) await report()
        log.info({ revision: applied?.state.revision ?? 0 }, 'load-balancer agent stopped')
      })()
      return stopped
    },
  }
}

/** fetch's "fetch failed" hides the reason in `cause` (ECONNREFUSED, a timeout…). */
function fetchFailure(err: unknown): string {
  if (err instanceof Error && err.name === 'TimeoutError') return 'no answer in time'
  const cause = err instanceof Error ? err.cause : undefined
  if (cause instanceof Error) {
    const code = 'code' in cause && typeof cause.code === 'string' ? cause.code : undefined
    return code ? `${code} (${cause.message})` : cause.message
  }
  return message(err)
}
