/**
 * Orchestration benchmark: the scheduler redeploys a fleet (default 1,000 instances) through the Nomad
 * protocol double with a boot delay (default 2 s), 50 at a time, with the real job chain: pg-boss, the job
 * handlers, the Nomad driver over HTTP, health checks, activation, drain and termination of the old
 * appservers. Measures what the orchestration itself costs, apart from the time spent waiting on the driver.
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import { fork, type ChildProcess } from 'node:child_process'
import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { PrismaPg } from '@prisma/adapter-pg'
import type PgBoss from 'pg-boss'
import pg from 'pg'
import pino from 'pino'
import { z } from 'zod'
import { LIVE_APPSERVER_STATES } from '@/lib/appservers/appserver-states'
import { systemActor } from '@/lib/auth/actor'
import { getBlueprint } from '@/lib/blueprints'
import { parseConfig, type Config } from '@/lib/config'
import { createDb, type Db } from '@/lib/db/client'
import { PrismaClient, type Prisma } from '@/lib/db/generated/client'
import { applyMigrations } from '@/lib/db/migrate'
import { createOrchestrator } from '@/lib/deployments/create-orchestrator'
import type { Orchestrator } from '@/lib/deployments/orchestrator'
import { JOBS, type JobDefinition } from '@/lib/jobs/definitions'
import { startQueue, startWorkers, QUEUE_SCHEMA } from '@/lib/jobs/queue'
import { QUEUES } from '@/lib/jobs/queues'
import { bossSender } from '@/lib/jobs/send'
import { slugify } from '@/lib/instances/slug'
import { createRollout } from '@/lib/rollouts/create-rollout'
import type { TRolloutSelection } from '@/lib/rollouts/schemas'
import { getSecretBox, sealJson } from '@/lib/secrets'
import { parseVmName, type VmDriver } from '@/provisioners/types'
import type { VmDriverKind } from '@/lib/db/generated/enums'
import { startNomadDouble } from '@/test/fakes/nomad/server'
import { TEST_PG_URL } from '@/test/support/postgres'
import { createScratchDatabase } from '@/test/support/scratch-database'
import {
  BenchError,
  hardware,
  hardwareLine,
  loadAverage,
  onCleanup,
  percentile,
  processCpuMs,
  runCleanups,
  table,
  type Hardware,
} from './support'

export const title = 'Orchestration: a rolling redeploy of the fleet through the Nomad double'

const ROOT = path.resolve(import.meta.dirname, '..')
const RESULTS_FILE = path.join(ROOT, 'test-results', 'bench-orchestration.json')
const NOMAD_DOUBLE_FLAG = '--nomad-double-child'
const WORKER_CHILD_FLAG = '--worker-child'

/** The issue's goals on 2 cores. */
const GOAL_OVERHEAD_P95_MS = 100
const GOAL_WALL_S = 180

// ---------------------------------------------------------------------------------------------
// Options: `--name=value` on the command line, else BENCH_NAME in the environment, else the default.

function option(name: string, fallback: number): number {
  const flag = process.argv.find((a) => a.startsWith(`--${name}=`))
  const raw = flag ? flag.slice(name.length + 3) : process.env[`BENCH_${name.toUpperCase().replace(/-/g, '_')}`]
  if (raw === undefined || raw === '') return fallback
  const n = Number(raw)
  if (!Number.isFinite(n) || n < 0) throw new BenchError(`--${name} must be a non-negative number, not "${raw}"`)
  return n
}

interface Options {
  instances: number
  organizations: number
  /** instances the rollout redeploys at once */
  concurrency: number
  /** how long a Nomad allocation stays pending before it runs */
  bootDelayMs: number
  /** WORKER_CONCURRENCY of each worker process */
  workerConcurrency: number
  /** instances redeployed one at a time before the measured rollout, for figures without contention (0: none) */
  calibration: number
  /** count Prisma's statements through its query events (1), or not (0: to see what counting costs) */
  countQueries: number
  /** worker processes: this one, and workers-1 more */
  workers: number
}

function options(): Options {
  const o: Options = {
    instances: option('instances', 1000),
    organizations: option('organizations', 50),
    concurrency: option('concurrency', 50),
    bootDelayMs: option('boot-delay-ms', 2000),
    workerConcurrency: option('worker-concurrency', 32),
    calibration: option('calibration', 10),
    countQueries: option('count-queries', 1),
    workers: option('workers', 1),
  }
  for (const name of ['instances', 'organizations', 'concurrency', 'workerConcurrency', 'workers'] as const)
    if (!Number.isInteger(o[name]) || o[name] < 1) throw new BenchError(`${name} must be a whole number of at least 1, not ${o[name]}`)
  o.calibration = Math.min(Math.floor(o.calibration), o.instances)
  return o
}

/**
 * The product's settings for the run, unless the environment sets them (everything else comes from the
 * environment too, so any variable can be tried without editing this file). Short poll and health intervals,
 * as the issue asks; a short drain; and ROLLBACK_KEEP=0, so every redeploy also terminates the appserver it
 * replaces: the steady-state work of a fleet that has reached its ROLLBACK_KEEP (one new appserver and one
 * terminated per redeploy).
 */
const PRODUCT_DEFAULTS = {
  VM_POLL_INTERVAL_SECONDS: '0.25',
  HEALTH_CHECK_INTERVAL_SECONDS: '0.25',
  DRAIN_SECONDS: '1',
  ROLLBACK_KEEP: '0',
}

function productEnv(opts: Options): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [name, fallback] of Object.entries(PRODUCT_DEFAULTS)) env[name] = process.env[name] || fallback
  return { ...env, WORKER_CONCURRENCY: String(opts.workerConcurrency) }
}

// ---------------------------------------------------------------------------------------------
// Instrumentation: which job ran, for how long, and how much of that was spent inside driver calls and
// health-check round trips. AsyncLocalStorage carries the job's record into the driver wrapper and the
// fetch wrapper, which only time the real calls and pass everything through.

interface JobRun {
  queue: string
  /** the appserver, deployment or rollout the job is about */
  key: string
  startedAt: number
  ms: number
  driverMs: number
  /** the driver methods it called, in order */
  calls: string[]
  healthMs: number
  healthChecks: number
  result: unknown
}

const jobContext = new AsyncLocalStorage<JobRun>()

interface Instruments {
  runs: JobRun[]
  /** Prisma statements (transaction control excluded) and commits */
  prisma: { statements: number; commits: number }
  /** Prisma statements by verb and table ("SELECT appservers"), to see which ones a redeploy makes most */
  shapes: Map<string, number>
  /** pg-boss statements by kind */
  boss: Map<string, number>
  /** driver calls made outside any job (none expected) */
  strayDriverCalls: number
  /** peak RSS of each worker process, as they report it */
  workerPeakRss: number[]
  reset(): void
}

function instruments(): Instruments {
  const i: Instruments = {
    runs: [],
    prisma: { statements: 0, commits: 0 },
    shapes: new Map(),
    boss: new Map(),
    strayDriverCalls: 0,
    workerPeakRss: [],
    reset() {
      i.runs = []
      i.prisma = { statements: 0, commits: 0 }
      i.shapes = new Map()
      i.boss = new Map()
      i.strayDriverCalls = 0
      i.workerPeakRss = []
    },
  }
  return i
}

const ZJobKey = z.object({ appserverId: z.string(), deploymentId: z.string(), rolloutId: z.string() }).partial()

function timedJobs(jobs: readonly JobDefinition[], inst: Instruments): JobDefinition[] {
  return jobs.map((job) => ({
    ...job,
    handler: async (payload, ctx) => {
      const key = ZJobKey.safeParse(payload)
      const k = key.success ? (key.data.appserverId ?? key.data.deploymentId ?? key.data.rolloutId ?? '') : ''
      const run: JobRun = {
        queue: job.name,
        key: k,
        startedAt: Date.now(),
        ms: 0,
        driverMs: 0,
        calls: [],
        healthMs: 0,
        healthChecks: 0,
        result: undefined,
      }
      const started = performance.now()
      try {
        run.result = await jobContext.run(run, () => job.handler(payload, ctx))
        return run.result
      } finally {
        run.ms = performance.now() - started
        inst.runs.push(run)
      }
    },
  }))
}

/** The driver, with every call timed into the running job's record. */
function timedDriver(driver: VmDriver, inst: Instruments): VmDriver {
  async function time<T>(method: string, call: () => Promise<T>): Promise<T> {
    const run = jobContext.getStore()
    if (!run) inst.strayDriverCalls++
    const started = performance.now()
    try {
      return await call()
    } finally {
      if (run) {
        run.driverMs += performance.now() - started
        run.calls.push(method)
      }
    }
  }
  return {
    kind: driver.kind,
    create: (spec, log) => time('create', () => driver.create(spec, log)),
    observe: (ref) => time('observe', () => driver.observe(ref)),
    configure: (ref, spec, address, log) => time('configure', () => driver.configure(ref, spec, address, log)),
    destroy: (ref, log) => time('destroy', () => driver.destroy(ref, log)),
    list: () => time('list', () => driver.list()),
    testConnection: () => time('testConnection', () => driver.testConnection()),
  }
}

function instrumentedOrchestrator(o: Orchestrator, inst: Instruments): Orchestrator {
  const drivers = new Map<VmDriverKind, VmDriver>()
  return {
    ...o,
    driver(kind) {
      let d = drivers.get(kind)
      if (!d) drivers.set(kind, (d = timedDriver(o.driver(kind), inst)))
      return d
    },
  }
}

/**
 * Health checks (lib/appservers/health-check.ts) call fetch directly, with their own user agent: this
 * wrapper times those round trips into the running job's record and passes every call through unchanged.
 */
function timeHealthChecks(): () => void {
  const original = globalThis.fetch
  globalThis.fetch = async (input, init) => {
    const run = jobContext.getStore()
    if (!run || new Headers(init?.headers).get('user-agent') !== 'tenon-health-check') return original(input, init)
    const started = performance.now()
    try {
      const res = await original(input, init)
      // The check reads the body: the round trip ends with it, so read it here and hand back a copy.
      const body = await res.arrayBuffer()
      return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers })
    } finally {
      run.healthMs += performance.now() - started
      run.healthChecks++
    }
  }
  return () => {
    globalThis.fetch = original
  }
}

/** A Prisma client like lib/db's createDb, with query events counted. */
function countingDb(url: string, max: number, inst: Instruments): Db {
  const client = new PrismaClient({
    adapter: new PrismaPg({ connectionString: url, max }),
    log: [{ emit: 'event', level: 'query' }],
  })
  // Prisma reports COMMIT (not BEGIN) of interactive transactions as a query: counted apart.
  client.$on('query', (e) => {
    if (e.query === 'COMMIT' || e.query === 'ROLLBACK') inst.prisma.commits++
    else {
      inst.prisma.statements++
      const shape = sqlShape(e.query)
      inst.shapes.set(shape, (inst.shapes.get(shape) ?? 0) + 1)
    }
  })
  return client
}

/** "SELECT appservers", "UPDATE deployments", "SELECT pg_notify"…: the verb and the first table. */
function sqlShape(sql: string): string {
  const verb = /^\s*(\w+)/.exec(sql)?.[1]?.toUpperCase() ?? '?'
  const table = /(?:FROM|INTO|UPDATE)\s+"?(?:public"?\.)?"?(\w+)"?/i.exec(sql)?.[1]
  if (table) return `${verb} ${table}`
  const call = /SELECT\s+(\w+)\s*\(/i.exec(sql)?.[1]
  return call ? `${verb} ${call}()` : verb
}

function bossQueryKind(sql: string): string {
  if (sql.includes('WITH next as')) return 'fetch'
  if (/INSERT INTO \S+\.job\b/.test(sql) || sql.includes('WITH defaults as')) return 'send'
  if (sql.includes("state = 'completed'") && sql.includes('WITH results AS')) return 'complete'
  if (sql.includes('deleted_jobs')) return 'fail'
  return 'maintenance and other'
}

/** Counts pg-boss's own statements by wrapping the database object all of its parts share. */
function countBossQueries(boss: PgBoss, inst: Instruments): void {
  const db = boss.getDb()
  const execute = db.executeSql.bind(db)
  db.executeSql = (text, values) => {
    const kind = bossQueryKind(text)
    inst.boss.set(kind, (inst.boss.get(kind) ?? 0) + 1)
    return execute(text, values)
  }
}

// ---------------------------------------------------------------------------------------------
// The Nomad double runs in a child process, as Nomad runs on other machines: its HTTP servers (the API and
// one stand-in listener per allocation) then do not share the worker's event loop or its memory figures.

const ZDoubleJob = z.object({ id: z.string(), status: z.string(), stop: z.boolean(), appserverId: z.string().nullable() })
type DoubleJobSummary = z.infer<typeof ZDoubleJob>

const ZChildMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready'), url: z.string() }),
  z.object({ type: z.literal('jobs'), jobs: z.array(ZDoubleJob) }),
])
const ZParentMessage = z.discriminatedUnion('type', [z.object({ type: z.literal('jobs') }), z.object({ type: z.literal('close') })])
type ChildMessage = z.infer<typeof ZChildMessage>
type ParentMessage = z.infer<typeof ZParentMessage>

async function runNomadDoubleChild(bootDelayMs: number): Promise<void> {
  const double = await startNomadDouble({ bootDelayMs })
  const send = (m: ChildMessage) => process.send?.(m)
  process.on('message', (raw) => {
    const m: ParentMessage | undefined = ZParentMessage.safeParse(raw).data
    if (m?.type === 'jobs')
      send({
        type: 'jobs',
        jobs: double.jobs().map((j) => ({ id: j.id, status: j.status, stop: j.stop, appserverId: j.meta.tenon_appserver_id ?? null })),
      })
    if (m?.type === 'close') void double.close().finally(() => process.exit(0))
  })
  // The parent went away without saying goodbye (killed): do not linger.
  process.on('disconnect', () => process.exit(0))
  send({ type: 'ready', url: double.url })
}

interface DoubleProcess {
  url: string
  pid: number
  jobs(): Promise<DoubleJobSummary[]>
  close(): Promise<void>
}

function startDoubleProcess(bootDelayMs: number): Promise<DoubleProcess> {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), [NOMAD_DOUBLE_FLAG, String(bootDelayMs)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const next = <T>(pick: (m: ChildMessage) => T | undefined) => nextMessage(child, ZChildMessage, pick, 'the Nomad double process')
  return next((m) => (m.type === 'ready' ? m.url : undefined)).then((url) => ({
    url,
    pid: child.pid ?? -1,
    async jobs() {
      const answer = next((m) => (m.type === 'jobs' ? m.jobs : undefined))
      child.send({ type: 'jobs' } satisfies ParentMessage)
      return answer
    },
    async close() {
      if (child.exitCode !== null || !child.connected) return
      const closed = new Promise<void>((resolve) => child.once('exit', () => resolve()))
      child.send({ type: 'close' } satisfies ParentMessage)
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
      await closed
      clearTimeout(timer)
    },
  }))
}

// ---------------------------------------------------------------------------------------------
// The worker, as scripts/worker.ts builds it (same pool sizes), with the instruments around it. With --workers=N,
// N-1 more run as processes of their own (this file with WORKER_CHILD_FLAG), as `npm run worker` processes would.

async function startInstrumentedWorker(config: Config, inst: Instruments, countQueries: boolean) {
  const url = config.databaseUrl ?? ''
  // Warnings and errors only (BENCH_LOG_LEVEL=info shows the driver's and the jobs' own lines), on stderr.
  const log = pino({ level: process.env.BENCH_LOG_LEVEL || 'warn' }, pino.destination(2))
  const poolSize = config.workerConcurrency * 2 + 2
  const db = countQueries ? countingDb(url, poolSize, inst) : createDb(url, { max: poolSize })
  const boss = await startQueue(url, log)
  countBossQueries(boss, inst)
  const orchestrator = instrumentedOrchestrator(createOrchestrator({ db, config, log, jobs: bossSender(boss) }), inst)
  const workers = await startWorkers({ boss, db, config, log, orchestrator, jobs: timedJobs(JOBS, inst) })
  return {
    orchestrator,
    async stop() {
      workers.stop()
      await boss.stop({ graceful: false, wait: true })
      await db.$disconnect()
    },
  }
}

const ZJobRun = z.object({
  queue: z.string(),
  key: z.string(),
  startedAt: z.number(),
  ms: z.number(),
  driverMs: z.number(),
  calls: z.array(z.string()),
  healthMs: z.number(),
  healthChecks: z.number(),
  result: z.unknown(),
})
const ZWorkerReport = z.object({
  runs: z.array(ZJobRun),
  prisma: z.object({ statements: z.number(), commits: z.number() }),
  shapes: z.array(z.tuple([z.string(), z.number()])),
  boss: z.array(z.tuple([z.string(), z.number()])),
  strayDriverCalls: z.number(),
  peakRss: z.number(),
})
type WorkerReport = z.infer<typeof ZWorkerReport>
const ZWorkerChildMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready') }),
  z.object({ type: z.literal('reset') }),
  z.object({ type: z.literal('report'), report: ZWorkerReport }),
])
const ZWorkerParentMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('reset') }),
  z.object({ type: z.literal('report') }),
  z.object({ type: z.literal('stop') }),
])

function mergeReport(inst: Instruments, r: WorkerReport): void {
  inst.runs.push(...r.runs)
  inst.prisma.statements += r.prisma.statements
  inst.prisma.commits += r.prisma.commits
  for (const [k, v] of r.shapes) inst.shapes.set(k, (inst.shapes.get(k) ?? 0) + v)
  for (const [k, v] of r.boss) inst.boss.set(k, (inst.boss.get(k) ?? 0) + v)
  inst.strayDriverCalls += r.strayDriverCalls
  inst.workerPeakRss.push(r.peakRss)
}

async function runWorkerChild(): Promise<void> {
  const config = parseConfig(process.env)
  const inst = instruments()
  timeHealthChecks()
  const rss = new RssSampler()
  rss.start()
  const worker = await startInstrumentedWorker(config, inst, process.env.BENCH_COUNT_QUERIES !== '0')
  const send = (m: z.infer<typeof ZWorkerChildMessage>) => process.send?.(m)
  process.on('message', (raw) => {
    const m = ZWorkerParentMessage.safeParse(raw).data
    if (m?.type === 'reset') {
      inst.reset()
      rss.stop()
      rss.start()
      send({ type: 'reset' })
    }
    if (m?.type === 'report')
      send({
        type: 'report',
        report: {
          runs: inst.runs,
          prisma: inst.prisma,
          shapes: [...inst.shapes],
          boss: [...inst.boss],
          strayDriverCalls: inst.strayDriverCalls,
          peakRss: rss.stop(),
        },
      })
    if (m?.type === 'stop') void worker.stop().finally(() => process.exit(0))
  })
  process.on('disconnect', () => process.exit(0))
  send({ type: 'ready' })
}

interface WorkerProcess {
  pid: number
  reset(): Promise<void>
  report(): Promise<WorkerReport>
  stop(): Promise<void>
}

async function startWorkerProcess(env: NodeJS.ProcessEnv): Promise<WorkerProcess> {
  const child = fork(fileURLToPath(import.meta.url), [WORKER_CHILD_FLAG], {
    execArgv: ['--import', 'tsx'],
    env,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const next = <T>(pick: (m: z.infer<typeof ZWorkerChildMessage>) => T | undefined) =>
    nextMessage(child, ZWorkerChildMessage, pick, 'a worker process')
  await next((m) => (m.type === 'ready' ? true : undefined))
  return {
    pid: child.pid ?? -1,
    async reset() {
      const done = next((m) => (m.type === 'reset' ? true : undefined))
      child.send({ type: 'reset' } satisfies z.infer<typeof ZWorkerParentMessage>)
      await done
    },
    async report() {
      const answer = next((m) => (m.type === 'report' ? m.report : undefined))
      child.send({ type: 'report' } satisfies z.infer<typeof ZWorkerParentMessage>)
      return answer
    },
    async stop() {
      if (child.exitCode !== null || !child.connected) return
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
      child.send({ type: 'stop' } satisfies z.infer<typeof ZWorkerParentMessage>)
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
      await exited
      clearTimeout(timer)
    },
  }
}

/** The child's next message (parsed with `schema`) that `pick` accepts; rejects if the child exits first. */
function nextMessage<M, T>(child: ChildProcess, schema: z.ZodType<M>, pick: (m: M) => T | undefined, who: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onMessage = (raw: unknown) => {
      const m = schema.safeParse(raw)
      const picked = m.success ? pick(m.data) : undefined
      if (picked === undefined) return
      child.off('message', onMessage)
      child.off('exit', onExit)
      resolve(picked)
    }
    const onExit = (code: number | null) => reject(new BenchError(`${who} exited (code ${code})`))
    child.on('message', onMessage)
    child.once('exit', onExit)
  })
}

// ---------------------------------------------------------------------------------------------
// The fleet

/**
 * Organizations and instances written with createMany, each instance with its secrets generated ahead of
 * the run with the blueprint's own generator, except that the RSA keys come from a pool of 8 real keys:
 * generating 1,000 RSA keys costs about a minute of CPU and is not what a redeploy does (secrets are made
 * once, at an instance's first deployment).
 */
async function seedFleet(db: Db, config: Config, opts: Options): Promise<string[]> {
  const box = getSecretBox(config)
  const blueprint = getBlueprint('openedx')
  const rsaPool = Array.from(
    { length: 8 },
    () =>
      generateKeyPairSync('rsa', {
        modulusLength: 2048,
        publicKeyEncoding: { type: 'spki', format: 'pem' },
        privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
      }).privateKey,
  )
  let nextKey = 0
  const pooledRsa = () => rsaPool[nextKey++ % rsaPool.length]!
  const organizations = Array.from({ length: opts.organizations }, (_, n) => {
    const name = `Bench Organization ${n + 1}`
    return { name, slug: slugify(name) }
  })
  await db.organization.createMany({ data: organizations })
  const orgIds = (await db.organization.findMany({ select: { id: true }, orderBy: { slug: 'asc' } })).map((o) => o.id)
  const rows: Prisma.InstanceCreateManyInput[] = []
  for (let n = 0; n < opts.instances; n++) {
    const organizationId = orgIds[n % orgIds.length]!
    const name = `Bench Academy ${n + 1}`
    const settings = blueprint.settingsSchema.parse({
      ...blueprint.defaultSettings({ name }),
      contactEmail: `ops${n + 1}@bench.example`,
    })
    rows.push({
      organizationId,
      name,
      slug: slugify(name),
      blueprint: 'openedx',
      settings: settings as Prisma.InputJsonValue,
      secrets: sealJson(box, blueprint.generateMissingSecrets({}, randomBytes, pooledRsa)),
    })
  }
  for (let i = 0; i < rows.length; i += 500) await db.instance.createMany({ data: rows.slice(i, i + 500) })
  return (await db.instance.findMany({ select: { id: true } })).map((i) => i.id)
}

// ---------------------------------------------------------------------------------------------
// Waiting

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function waitFor<T>(what: string, check: () => Promise<T | null | undefined | false>, timeoutMs: number, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value) return value
    if (Date.now() > deadline) throw new BenchError(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}`)
    await sleep(everyMs)
  }
}

const STEP_QUEUE_NAMES = [QUEUES.advanceAppserver.name, QUEUES.advanceDeployment.name, QUEUES.advanceRollout.name]

/** Waits until no step job is left unfinished (created, retry or active); says which are left if that never happens. */
async function waitForQueue(observer: pg.Client, what: string): Promise<void> {
  const pending = () =>
    observer.query<{ name: string; state: string; n: string; output: unknown }>(
      `SELECT name, state::text AS state, count(*) AS n, max(output::text) AS output FROM ${QUEUE_SCHEMA}.job
        WHERE name = ANY($1) AND state IN ('created', 'retry', 'active') GROUP BY name, state`,
      [STEP_QUEUE_NAMES],
    )
  try {
    await waitFor(what, async () => (await pending()).rows.length === 0, 120_000)
  } catch (err) {
    const left = (await pending()).rows.map((r) => `${r.n} ${r.name} ${r.state}${r.output ? ` (${String(r.output).slice(0, 200)})` : ''}`)
    throw new BenchError(`${err instanceof Error ? err.message : String(err)}: ${left.join('; ')}`)
  }
}

interface RolloutRun {
  id: string
  wallMs: number
  status: string
  counts: Record<string, number>
  errors: string[]
}

/**
 * Waits until the appservers a rollout replaced are terminated (they drain first; ROLLBACK_KEEP=0) and no step
 * job is left, and returns the time from `startedAt` to the last termination.
 */
async function settle(observer: pg.Client, rolloutId: string, startedAt: number): Promise<number> {
  const retired = await waitFor(
    'the replaced appservers to be terminated',
    async () => {
      const { rows } = await observer.query<{ n: string }>(
        `SELECT count(*) AS n FROM deployments d
          WHERE d.rollout_id IS DISTINCT FROM $1 AND d.status <> 'terminated'
            AND d.instance_id IN (SELECT instance_id FROM rollout_items WHERE rollout_id = $1)`,
        [rolloutId],
      )
      return Number(rows[0]?.n) === 0 ? performance.now() - startedAt : null
    },
    5 * 60_000,
    100,
  )
  await waitForQueue(observer, 'the job queue to settle')
  return retired
}

/** Starts a rollout over every instance and waits until it is completed (or stops otherwise). */
async function rollOut(
  o: Orchestrator,
  observer: pg.Client,
  what: { selection: TRolloutSelection; concurrency: number },
  timeoutMs: number,
): Promise<RolloutRun> {
  const started = performance.now()
  const rollout = await createRollout(o, systemActor('bench scheduler'), { ...what, failureBudgetPercent: 100 })
  let lastLine = 0
  const status = await waitFor(
    `rollout ${rollout.id}`,
    async () => {
      const { rows } = await observer.query<{ status: string }>('SELECT status::text AS status FROM rollouts WHERE id = $1', [rollout.id])
      const s = rows[0]?.status
      if (performance.now() - lastLine > 15_000) {
        lastLine = performance.now()
        const counts = await itemCounts(observer, rollout.id)
        console.log(
          `  … ${((performance.now() - started) / 1000).toFixed(0)} s: ${counts.succeeded ?? 0} done, ${counts.deploying ?? 0} deploying, ` +
            `${counts.failed ?? 0} failed; load ${loadAverage()}`,
        )
      }
      return s && s !== 'running' ? s : null
    },
    timeoutMs,
    100,
  )
  const wallMs = performance.now() - started
  const counts = await itemCounts(observer, rollout.id)
  const { rows } = await observer.query<{ error: string }>(
    "SELECT error FROM rollout_items WHERE rollout_id = $1 AND status <> 'succeeded' AND error IS NOT NULL LIMIT 5",
    [rollout.id],
  )
  return { id: rollout.id, wallMs, status, counts, errors: rows.map((r) => r.error) }
}

async function itemCounts(observer: pg.Client, rolloutId: string): Promise<Record<string, number>> {
  const { rows } = await observer.query<{ status: string; n: string }>(
    'SELECT status::text AS status, count(*) AS n FROM rollout_items WHERE rollout_id = $1 GROUP BY status',
    [rolloutId],
  )
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]))
}

// ---------------------------------------------------------------------------------------------
// Machine figures: RSS sampled, CPU time of this process, of the double's and of the PostgreSQL backends

class RssSampler {
  peak = 0
  private timer: NodeJS.Timeout | undefined
  start(everyMs = 200) {
    this.peak = process.memoryUsage.rss()
    this.timer = setInterval(() => (this.peak = Math.max(this.peak, process.memoryUsage.rss())), everyMs)
    this.timer.unref()
  }
  stop(): number {
    clearInterval(this.timer)
    this.peak = Math.max(this.peak, process.memoryUsage.rss())
    return this.peak
  }
}

function peakRssOf(pid: number): number | null {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) * 1024 : null
  } catch {
    return null
  }
}

interface CpuSample {
  /** this process and the other worker processes */
  self: number
  double: number | null
  /** CPU time of each PostgreSQL backend of the database, and whether it serves pg-boss (application_name) */
  postgres: Map<number, { ms: number; boss: boolean }> | null
}

async function sampleCpu(observer: pg.Client, doublePid: number, workerPids: readonly number[] = []): Promise<CpuSample> {
  const { rows } = await observer.query<{ pid: number; application_name: string }>(
    'SELECT pid, application_name FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
  )
  let postgres: CpuSample['postgres'] = new Map()
  for (const { pid, application_name } of rows) {
    const ms = processCpuMs(pid)
    if (ms === null) {
      postgres = null
      break
    }
    postgres.set(pid, { ms, boss: application_name === 'pgboss' })
  }
  const { user, system } = process.cpuUsage()
  const others = workerPids.reduce((a, pid) => a + (processCpuMs(pid) ?? 0), 0)
  return { self: (user + system) / 1000 + others, double: processCpuMs(doublePid), postgres }
}

interface CpuSpent {
  workerMs: number
  doubleMs: number | null
  /** PostgreSQL backends serving our Prisma queries, and those serving pg-boss */
  postgresMs: { ours: number; boss: number } | null
}

/** CPU time between two samples (a backend that connected in between counts from zero; one that closed is lost). */
function cpuSpent(before: CpuSample, after: CpuSample): CpuSpent {
  let postgresMs: CpuSpent['postgresMs'] = null
  if (before.postgres && after.postgres) {
    postgresMs = { ours: 0, boss: 0 }
    for (const [pid, { ms, boss }] of after.postgres) postgresMs[boss ? 'boss' : 'ours'] += ms - (before.postgres.get(pid)?.ms ?? 0)
  }
  return {
    workerMs: after.self - before.self,
    doubleMs: before.double !== null && after.double !== null ? after.double - before.double : null,
    postgresMs,
  }
}

// ---------------------------------------------------------------------------------------------
// Figures

interface Percentiles {
  n: number
  p50: number
  p95: number
  max: number
  mean: number
}

function stats(values: readonly number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b)
  const r = (n: number) => Math.round(n * 10) / 10
  return {
    n: sorted.length,
    p50: r(percentile(sorted, 50)),
    p95: r(percentile(sorted, 95)),
    max: r(sorted[sorted.length - 1] ?? Number.NaN),
    mean: r(sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length)),
  }
}

interface DeploymentRow {
  id: string
  instance_id: string
  rollout_id: string | null
  created_at: Date
  activated_at: Date | null
}
interface AppserverRow {
  id: string
  deployment_id: string
  instance_id: string
  state: string
}

/**
 * Attributes each job run to a redeploy: appserver steps to their appserver's instance, deployment steps to
 * their deployment's; new (made by `rolloutId`) or replaced. The rollout's own steps serve many instances at
 * once: their time is spread evenly.
 */
async function redeployCosts(observer: pg.Client, runs: readonly JobRun[], rolloutId: string) {
  const deployments = await observer.query<DeploymentRow>('SELECT id, instance_id, rollout_id, created_at, activated_at FROM deployments')
  const appservers = await observer.query<AppserverRow>('SELECT id, deployment_id, instance_id, state::text AS state FROM appservers')
  const isNew = new Map(deployments.rows.map((d) => [d.id, d.rollout_id === rolloutId]))
  const deploymentInstance = new Map(deployments.rows.map((d) => [d.id, d.instance_id]))
  const appserverOf = new Map(appservers.rows.map((a) => [a.id, a]))

  const costs = new Map<string, RedeployCost>()
  /** overhead of each appserver step, by what it called outside, for new and for replaced appservers */
  const steps = { fresh: new Map<string, number[]>(), replaced: new Map<string, number[]>() }
  for (const d of deployments.rows) {
    if (d.rollout_id !== rolloutId) continue
    costs.set(d.instance_id, {
      instanceId: d.instance_id,
      bringUpMs: 0,
      retireMs: 0,
      rolloutShareMs: 0,
      handlerMs: 0,
      driverMs: 0,
      healthMs: 0,
      jobs: 0,
      redeployMs: d.activated_at ? d.activated_at.getTime() - d.created_at.getTime() : Number.NaN,
    })
  }
  const rolloutRuns = runs.filter((r) => r.queue === QUEUES.advanceRollout.name)
  const rolloutMsTotal = rolloutRuns.reduce((a, r) => a + r.ms - r.driverMs - r.healthMs, 0)
  for (const c of costs.values()) c.rolloutShareMs = rolloutMsTotal / Math.max(1, costs.size)
  for (const r of runs) {
    let instanceId: string | undefined
    let fresh: boolean | undefined
    if (r.queue === QUEUES.advanceAppserver.name) {
      const a = appserverOf.get(r.key)
      instanceId = a?.instance_id
      fresh = a ? isNew.get(a.deployment_id) : undefined
    } else if (r.queue === QUEUES.advanceDeployment.name) {
      instanceId = deploymentInstance.get(r.key)
      fresh = isNew.get(r.key)
    }
    const c = instanceId ? costs.get(instanceId) : undefined
    if (!c || fresh === undefined) continue
    const overhead = r.ms - r.driverMs - r.healthMs
    if (r.queue === QUEUES.advanceAppserver.name) {
      const kind = [...r.calls, ...(r.healthChecks ? ['health check'] : [])].join(' + ') || 'no outside call'
      const byKind = steps[fresh ? 'fresh' : 'replaced']
      byKind.set(kind, [...(byKind.get(kind) ?? []), overhead])
    }
    if (fresh) c.bringUpMs += overhead
    else c.retireMs += overhead
    c.handlerMs += r.ms
    c.driverMs += r.driverMs
    c.healthMs += r.healthMs
    c.jobs++
  }
  const stepKinds = (m: Map<string, number[]>) =>
    [...m]
      .map(([kind, ms]) => ({ kind, perAppserver: Math.round((ms.length / Math.max(1, costs.size)) * 100) / 100, ms: stats(ms) }))
      .sort((a, b) => b.perAppserver * b.ms.mean - a.perAppserver * a.ms.mean)
  return {
    stepKinds: { fresh: stepKinds(steps.fresh), replaced: stepKinds(steps.replaced) },
    costs: [...costs.values()],
    rolloutRuns,
    rolloutMsTotal,
    deployments,
    appservers,
    appserverOf,
    deploymentInstance,
  }
}

/** Appserver steps of one kind (what they called outside): how many per appserver, and their overhead each. */
interface StepKind {
  kind: string
  perAppserver: number
  ms: Percentiles
}

/** What one redeploy (one instance) cost: the new appserver and deployment, the old ones' retirement. */
interface RedeployCost {
  instanceId: string
  /** ms in handlers of the new appserver's and new deployment's jobs, minus driver calls and health checks */
  bringUpMs: number
  /** the same for the old appserver's and old deployment's jobs (drain end, retention, destroy) */
  retireMs: number
  /** the even share of the rollout's own steps (they start deployments for many instances at once) */
  rolloutShareMs: number
  handlerMs: number
  driverMs: number
  healthMs: number
  jobs: number
  /** deployment created → activated */
  redeployMs: number
}

export interface OrchestrationBenchResult {
  when: string
  hardware: Hardware
  postgres: string
  options: Options
  productEnv: Record<string, string>
  seed: { fleetMs: number; firstRolloutMs: number; firstRolloutCounts: Record<string, number> }
  loadAverage: { before: number; after: number }
  /** the one-at-a-time redeploys before the measured rollout */
  calibration: {
    redeploys: number
    wallMs: number
    bringUpOverheadMs: Percentiles
    retireOverheadMs: Percentiles
    rolloutShareMs: number
    prismaStatementsPerRedeploy: number
    redeployMs: Percentiles
    stepKinds: { fresh: StepKind[]; replaced: StepKind[] }
  } | null
  measured: {
    rolloutMs: number
    /** until the last replaced appserver was terminated */
    retiredMs: number
    counts: Record<string, number>
    /** the issue's figure: per new appserver, its own jobs and its deployment's, minus driver calls and health checks */
    bringUpOverheadMs: Percentiles
    /** the same for the appserver it replaced (end of drain, retention, destroy) */
    retireOverheadMs: Percentiles
    /** the rollout's own steps, spread evenly over the redeploys */
    rolloutShareMs: number
    /** all three: what one redeploy costs in handlers apart from the driver */
    overheadPerRedeployMs: Percentiles
    handlerPerRedeployMs: Percentiles
    driverPerRedeployMs: Percentiles
    healthPerRedeployMs: Percentiles
    jobsPerRedeploy: Percentiles
    redeployMs: Percentiles
    stages: { stage: string; ms: Percentiles }[]
    stepKinds: { fresh: StepKind[]; replaced: StepKind[] }
    queueLatencyMs: { queue: string; ms: Percentiles }[]
    queueLatencyPerRedeployMs: Percentiles
    jobs: { queue: string; runs: number; handlerMs: Percentiles }[]
    /** the rollout's steps that started deployments: their time per deployment started (they hold the rollout's row lock) */
    rolloutStarts: { steps: number; started: number; msPerStart: number; longestStepMs: number }
    queries: {
      prismaShapesPerRedeploy: Record<string, number>
      prismaStatementsPerRedeploy: number
      prismaCommitsPerRedeploy: number
      bossPerRedeploy: Record<string, number>
    }
    reconciler: { runs: number; resumed: number; orphansDestroyed: number; vanished: number; ms: number }
    strayDriverCalls: number
    cpuMs: { worker: number; double: number | null; postgres: { ours: number; boss: number } | null }
    /** this process (the first worker), sampled during the measured rollout, and over the whole run */
    peakRssBytes: number
    peakRssWholeRunBytes: number | null
    /** the other worker processes, sampled during the measured rollout */
    otherWorkersPeakRssBytes: number[]
    doublePeakRssBytes: number | null
  }
  orphans: { nomadJobsWithoutLiveAppserver: number; liveAppserversWithoutJob: number; nomadJobs: number; liveAppservers: number }
}

export async function run(): Promise<OrchestrationBenchResult> {
  const opts = options()
  const hw = hardware()
  const inst = instruments()

  console.log(`starting the Nomad double (boot delay ${opts.bootDelayMs} ms) in a child process…`)
  const double = await startDoubleProcess(opts.bootDelayMs)
  onCleanup(() => double.close())

  const scratch = await createScratchDatabase(TEST_PG_URL, 'tenon_bench')
  onCleanup(() => scratch.drop())
  await applyMigrations(scratch.url)
  const product = productEnv(opts)
  const configEnv = {
    DATABASE_URL: scratch.url,
    VM_DRIVER: 'nomad',
    NOMAD_ADDR: double.url,
    OWNER_TAG: `bench${randomBytes(3).toString('hex')}`,
    SECRETS_KEYS: `bench:${randomBytes(32).toString('base64')}`,
    ...product,
  }
  const config = parseConfig({ ...process.env, ...configEnv })

  const restoreFetch = timeHealthChecks()
  onCleanup(async () => restoreFetch())
  const worker = await startInstrumentedWorker(config, inst, opts.countQueries > 0)
  onCleanup(() => worker.stop())
  const orchestrator = worker.orchestrator
  const env = { ...process.env, ...configEnv, BENCH_COUNT_QUERIES: String(opts.countQueries) }
  const extraWorkers = await Promise.all(Array.from({ length: Math.max(0, opts.workers - 1) }, () => startWorkerProcess(env)))
  for (const w of extraWorkers) onCleanup(() => w.stop())
  /** Every worker's instruments start from zero (this process's and the worker processes'). */
  const resetAll = async () => {
    inst.reset()
    await Promise.all(extraWorkers.map((w) => w.reset()))
  }
  /** Adds the worker processes' figures to this process's. */
  const collectAll = async () => {
    for (const w of extraWorkers) mergeReport(inst, await w.report())
  }

  const observer = new pg.Client({ connectionString: scratch.url })
  await observer.connect()
  onCleanup(() => observer.end())
  const postgres = (await observer.query<{ server_version: string }>('SHOW server_version')).rows[0]?.server_version ?? 'unknown'

  console.log(`seeding ${opts.organizations} organizations and ${opts.instances} instances (secrets pre-generated)…`)
  let started = performance.now()
  const seedDb = createDb(scratch.url, { max: 2 })
  onCleanup(() => seedDb.$disconnect())
  const instanceIds = await seedFleet(seedDb, config, opts)
  const fleetMs = performance.now() - started
  console.log(`  seeded in ${(fleetMs / 1000).toFixed(1)} s`)

  console.log(`first deployment of every instance (a first rollout, concurrency ${opts.concurrency})…`)
  const first = await rollOut(orchestrator, observer, { selection: {}, concurrency: opts.concurrency }, 15 * 60_000)
  console.log(`  ${first.status} in ${(first.wallMs / 1000).toFixed(1)} s: ${JSON.stringify(first.counts)}`)
  if (first.status !== 'completed' || (first.counts.succeeded ?? 0) !== instanceIds.length)
    throw new BenchError(`the first rollout did not deploy every instance: ${JSON.stringify(first.counts)}; ${first.errors.join('; ')}`)
  await waitForQueue(observer, 'the first rollout to settle')
  await observer.query('VACUUM ANALYZE')

  // ------------------------------------------------------------------------------------------ uncontended
  // A few redeploys one at a time: what a step costs when nothing else competes for the CPUs and the database.
  let calibration: OrchestrationBenchResult['calibration'] = null
  if (opts.calibration > 0) {
    const ids = instanceIds.slice(0, opts.calibration)
    console.log(`redeploying ${ids.length} instances one at a time (uncontended figures)…`)
    await resetAll()
    const calStarted = performance.now()
    const cal = await rollOut(orchestrator, observer, { selection: { instanceIds: ids }, concurrency: 1 }, 10 * 60_000)
    if (cal.status !== 'completed' || (cal.counts.succeeded ?? 0) !== ids.length)
      throw new BenchError(`the one-at-a-time rollout failed: ${JSON.stringify(cal.counts)}; ${cal.errors.join('; ')}`)
    await settle(observer, cal.id, calStarted)
    await collectAll()
    const { costs, rolloutMsTotal, stepKinds } = await redeployCosts(observer, inst.runs, cal.id)
    calibration = {
      redeploys: ids.length,
      wallMs: cal.wallMs,
      bringUpOverheadMs: stats(costs.map((c) => c.bringUpMs)),
      retireOverheadMs: stats(costs.map((c) => c.retireMs)),
      rolloutShareMs: Math.round((rolloutMsTotal / Math.max(1, costs.length)) * 10) / 10,
      prismaStatementsPerRedeploy: Math.round((inst.prisma.statements / ids.length) * 10) / 10,
      redeployMs: stats(costs.map((c) => c.redeployMs)),
      stepKinds,
    }
    console.log(`  ${(cal.wallMs / 1000).toFixed(1)} s; overhead per new appserver p50 ${calibration.bringUpOverheadMs.p50} ms`)
  }

  // ------------------------------------------------------------------------------------------ measured
  console.log(`redeploying ${instanceIds.length} instances (rollout, concurrency ${opts.concurrency}, failure budget 100 %)…`)
  await resetAll()
  const rss = new RssSampler()
  rss.start()
  const loadBefore = loadAverage()
  const cpuBefore = await sampleCpu(
    observer,
    double.pid,
    extraWorkers.map((w) => w.pid),
  )
  started = performance.now()
  const measured = await rollOut(orchestrator, observer, { selection: {}, concurrency: opts.concurrency }, 15 * 60_000)
  console.log(`  ${measured.status} in ${(measured.wallMs / 1000).toFixed(1)} s: ${JSON.stringify(measured.counts)}`)
  if (measured.status !== 'completed')
    throw new BenchError(`the rollout ended ${measured.status}: ${JSON.stringify(measured.counts)}; ${measured.errors.join('; ')}`)

  const retired = await settle(observer, measured.id, started)
  const cpuAfter = await sampleCpu(
    observer,
    double.pid,
    extraWorkers.map((w) => w.pid),
  )
  const peakRss = rss.stop()
  await collectAll()
  const loadAfter = loadAverage()
  console.log(`  every replaced appserver terminated ${(retired / 1000).toFixed(1)} s after the rollout started`)

  // ------------------------------------------------------------------------------------------ figures
  const n = instanceIds.length
  const {
    stepKinds,
    costs: all,
    rolloutRuns,
    rolloutMsTotal,
    deployments,
    appservers,
    appserverOf,
    deploymentInstance,
  } = await redeployCosts(observer, inst.runs, measured.id)

  // Stages of each new appserver, from its transition log.
  const transitions = await observer.query<{ appserver_id: string; to_state: string; at: Date }>(
    `SELECT l.appserver_id, l.to_state::text AS to_state, l.at FROM appserver_log_lines l
       JOIN appservers a ON a.id = l.appserver_id JOIN deployments d ON d.id = a.deployment_id
      WHERE d.rollout_id = $1 AND l.kind = 'transition' ORDER BY l.id`,
    [measured.id],
  )
  const createdAt = new Map(deployments.rows.map((d) => [d.id, d.created_at.getTime()]))
  const timeline = new Map<string, Map<string, number>>()
  for (const t of transitions.rows) {
    let m = timeline.get(t.appserver_id)
    if (!m) {
      m = new Map()
      const a = appserverOf.get(t.appserver_id)
      if (a) m.set('new', createdAt.get(a.deployment_id) ?? Number.NaN)
      timeline.set(t.appserver_id, m)
    }
    m.set(t.to_state, t.at.getTime())
  }
  const stageDefs: [string, string, string][] = [
    ['created → VM requested (provisioning)', 'new', 'provisioning'],
    [`provisioning → running (boot delay ${opts.bootDelayMs} ms)`, 'provisioning', 'configuring'],
    ['configuring → starting', 'configuring', 'starting'],
    ['starting → healthy (health check)', 'starting', 'healthy'],
    ['healthy → active (activation)', 'healthy', 'active'],
  ]
  const stages = stageDefs.map(([stage, from, to]) => ({
    stage,
    ms: stats(
      [...timeline.values()].flatMap((m) => {
        const a = m.get(from)
        const b = m.get(to)
        return a !== undefined && b !== undefined ? [b - a] : []
      }),
    ),
  }))

  // Queueing latency: from the moment a step was due (sent, or its startAfter) to a worker starting it.
  const queued = await observer.query<{ name: string; appserver: string | null; deployment: string | null; latency: number }>(
    `SELECT name, data->>'appserverId' AS appserver, data->>'deploymentId' AS deployment,
            extract(epoch FROM (started_on - start_after)) * 1000 AS latency
       FROM ${QUEUE_SCHEMA}.job
      WHERE started_on IS NOT NULL AND created_on >= to_timestamp($1 / 1000.0)`,
    [Date.now() - (performance.now() - started)],
  )
  const byQueue = new Map<string, number[]>()
  const latencyPerInstance = new Map<string, number>()
  for (const q of queued.rows) {
    const list = byQueue.get(q.name) ?? []
    list.push(Math.max(0, q.latency))
    byQueue.set(q.name, list)
    const instanceId = q.appserver
      ? appserverOf.get(q.appserver)?.instance_id
      : q.deployment
        ? deploymentInstance.get(q.deployment)
        : undefined
    if (instanceId) latencyPerInstance.set(instanceId, (latencyPerInstance.get(instanceId) ?? 0) + Math.max(0, q.latency))
  }

  const jobsByQueue = new Map<string, JobRun[]>()
  for (const r of inst.runs) jobsByQueue.set(r.queue, [...(jobsByQueue.get(r.queue) ?? []), r])
  const ZStarted = z.object({ started: z.number() })
  const starting = rolloutRuns.flatMap((r) => {
    const started = ZStarted.safeParse(r.result).data?.started ?? 0
    return started > 0 ? [{ started, ms: r.ms }] : []
  })
  const startedTotal = starting.reduce((a, r) => a + r.started, 0)
  const rolloutStarts = {
    steps: starting.length,
    started: startedTotal,
    msPerStart: Math.round((starting.reduce((a, r) => a + r.ms, 0) / Math.max(1, startedTotal)) * 10) / 10,
    longestStepMs: Math.round(Math.max(0, ...starting.map((r) => r.ms))),
  }
  const reconcileRuns = jobsByQueue.get(QUEUES.reconcileAppservers.name) ?? []
  const ZReport = z.object({ resumed: z.number(), orphansDestroyed: z.array(z.string()), vanished: z.array(z.string()) })
  const reconciler = { runs: reconcileRuns.length, resumed: 0, orphansDestroyed: 0, vanished: 0, ms: 0 }
  for (const r of reconcileRuns) {
    const report = ZReport.safeParse(r.result)
    reconciler.ms += r.ms
    if (!report.success) continue
    reconciler.resumed += report.data.resumed
    reconciler.orphansDestroyed += report.data.orphansDestroyed.length
    reconciler.vanished += report.data.vanished.length
  }

  // Orphans: jobs in the double without a live appserver, live appservers without a job.
  const nomadJobs = await double.jobs()
  const live = new Set(appservers.rows.filter((a) => LIVE_APPSERVER_STATES.some((s) => s === a.state)).map((a) => a.id))
  const jobsOf = new Set(nomadJobs.flatMap((j) => (j.appserverId && !j.stop ? [j.appserverId] : [])))
  const ownerJobs = nomadJobs.filter((j) => parseVmName(config.ownerTag, j.id) !== undefined)
  const orphans = {
    nomadJobsWithoutLiveAppserver: nomadJobs.filter((j) => !j.appserverId || !live.has(j.appserverId) || j.stop).length,
    liveAppserversWithoutJob: [...live].filter((id) => !jobsOf.has(id)).length,
    nomadJobs: ownerJobs.length,
    liveAppservers: live.size,
  }

  const per = (x: number) => Math.round((x / n) * 10) / 10
  const cpu = cpuSpent(cpuBefore, cpuAfter)
  const result: OrchestrationBenchResult = {
    when: new Date().toISOString(),
    hardware: hw,
    postgres,
    options: opts,
    productEnv: product,
    seed: { fleetMs, firstRolloutMs: first.wallMs, firstRolloutCounts: first.counts },
    calibration,
    loadAverage: { before: loadBefore, after: loadAfter },
    measured: {
      rolloutMs: measured.wallMs,
      retiredMs: retired,
      counts: measured.counts,
      overheadPerRedeployMs: stats(all.map((c) => c.bringUpMs + c.retireMs + c.rolloutShareMs)),
      bringUpOverheadMs: stats(all.map((c) => c.bringUpMs)),
      retireOverheadMs: stats(all.map((c) => c.retireMs)),
      rolloutShareMs: Math.round((rolloutMsTotal / Math.max(1, all.length)) * 10) / 10,
      handlerPerRedeployMs: stats(all.map((c) => c.handlerMs)),
      driverPerRedeployMs: stats(all.map((c) => c.driverMs)),
      healthPerRedeployMs: stats(all.map((c) => c.healthMs)),
      jobsPerRedeploy: stats(all.map((c) => c.jobs)),
      redeployMs: stats(all.map((c) => c.redeployMs)),
      stages,
      stepKinds,
      queueLatencyMs: [...byQueue].map(([queue, ms]) => ({ queue, ms: stats(ms) })),
      queueLatencyPerRedeployMs: stats([...latencyPerInstance.values()]),
      rolloutStarts,
      jobs: [...jobsByQueue].map(([queue, runs]) => ({
        queue,
        runs: runs.length,
        handlerMs: stats(runs.map((r) => r.ms)),
      })),
      queries: {
        prismaShapesPerRedeploy: Object.fromEntries([...inst.shapes].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, per(v)])),
        prismaStatementsPerRedeploy: per(inst.prisma.statements),
        prismaCommitsPerRedeploy: per(inst.prisma.commits),
        bossPerRedeploy: Object.fromEntries([...inst.boss].map(([k, v]) => [k, per(v)])),
      },
      reconciler,
      strayDriverCalls: inst.strayDriverCalls,
      cpuMs: { worker: cpu.workerMs, double: cpu.doubleMs, postgres: cpu.postgresMs },
      peakRssBytes: peakRss,
      peakRssWholeRunBytes: peakRssOf(process.pid),
      otherWorkersPeakRssBytes: inst.workerPeakRss,
      doublePeakRssBytes: peakRssOf(double.pid),
    },
    orphans,
  }
  await runCleanups()
  print(result)
  await mkdir(path.dirname(RESULTS_FILE), { recursive: true })
  await writeFile(RESULTS_FILE, JSON.stringify(result, null, 2) + '\n')
  console.log(`\nfigures written to ${path.relative(process.cwd(), RESULTS_FILE)}`)
  if (orphans.nomadJobsWithoutLiveAppserver || orphans.liveAppserversWithoutJob)
    throw new BenchError(`orphans left: ${JSON.stringify(orphans)}`)
  if ((measured.counts.succeeded ?? 0) !== n) throw new BenchError(`not every redeploy succeeded: ${JSON.stringify(measured.counts)}`)
  return result
}

function print(r: OrchestrationBenchResult): void {
  const m = r.measured
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`
  const mib = (b: number | null) => (b === null ? '-' : `${Math.round(b / 1024 ** 2)} MiB`)
  const row = (name: string, p: Percentiles) => [name, String(p.n), ...[p.p50, p.p95, p.max, p.mean].map((x) => x.toFixed(1))]
  console.log(`\n${title}`)
  console.log(`machine:  ${hardwareLine(r.hardware)}; PostgreSQL ${r.postgres} on the same machine`)
  console.log(
    `setup:    ${r.options.instances} instances in ${r.options.organizations} organizations, 1 appserver each; Nomad double ` +
      `(own process) boot delay ${r.options.bootDelayMs} ms; ${r.options.workers > 1 ? `${r.options.workers} worker processes, each with` : 'one worker process,'} WORKER_CONCURRENCY ${r.options.workerConcurrency}; ` +
      Object.entries(r.productEnv)
        .filter(([k]) => k !== 'WORKER_CONCURRENCY')
        .map(([k, v]) => `${k}=${v}`)
        .join(' '),
  )
  console.log(`seed:     fleet in ${s(r.seed.fleetMs)}; first deployment of every instance (first rollout) in ${s(r.seed.firstRolloutMs)}`)
  console.log(`load:     1-minute load average ${r.loadAverage.before} before, ${r.loadAverage.after} after the measured rollout\n`)
  console.log(
    `rollout of ${r.options.instances} redeploys, concurrency ${r.options.concurrency}: ${s(m.rolloutMs)} ` +
      `(${m.counts.succeeded ?? 0} succeeded, ${m.counts.failed ?? 0} failed); last replaced appserver terminated at ${s(m.retiredMs)}`,
  )
  const kinds = (title: string, k: { fresh: StepKind[]; replaced: StepKind[] }) => {
    console.log(`\n${title}`)
    console.log(
      table(
        ['appserver step (what it called outside)', 'per appserver', 'overhead p50', 'p95', 'mean', 'mean × count'],
        [...k.fresh.map((x) => ['new: ' + x.kind, x] as const), ...k.replaced.map((x) => ['replaced: ' + x.kind, x] as const)].map(
          ([name, x]) => [
            name,
            x.perAppserver.toFixed(2),
            ...[x.ms.p50, x.ms.p95, x.ms.mean, x.ms.mean * x.perAppserver].map((v) => v.toFixed(1)),
          ],
        ),
      ),
    )
  }
  const c = r.calibration
  if (c) {
    console.log(
      `\none at a time first (${c.redeploys} redeploys, rollout concurrency 1: nothing competes for the CPUs): ${s(c.wallMs)}; ` +
        `${c.prismaStatementsPerRedeploy} Prisma statements per redeploy`,
    )
    console.log(
      table(
        ['figure (ms)', 'n', 'p50', 'p95', 'max', 'mean'],
        [
          row("overhead per new appserver (its + its deployment's jobs − driver − health)", c.bringUpOverheadMs),
          row(`overhead per replaced appserver; rollout steps ${c.rolloutShareMs.toFixed(1)} ms per redeploy`, c.retireOverheadMs),
          row('deployment created → activated', c.redeployMs),
        ],
      ),
    )
    kinds('one at a time: appserver steps (ms)', c.stepKinds)
  }
  console.log(`\nthe rollout of ${r.options.instances}, concurrency ${r.options.concurrency}: per redeploy (ms)`)
  console.log(
    table(
      ['figure', 'n', 'p50', 'p95', 'max', 'mean'],
      [
        row("overhead per new appserver (its + its deployment's jobs − driver − health)", m.bringUpOverheadMs),
        row('overhead per replaced appserver (drain end, retention, destroy)', m.retireOverheadMs),
        row(`overhead per redeploy (both + rollout steps, ${m.rolloutShareMs.toFixed(1)} ms each)`, m.overheadPerRedeployMs),
        row('time in job handlers (all of it)', m.handlerPerRedeployMs),
        row('  of which inside driver calls (Nomad API)', m.driverPerRedeployMs),
        row('  of which health-check round trips', m.healthPerRedeployMs),
        row('queueing latency, summed over its jobs', m.queueLatencyPerRedeployMs),
        row('jobs run (count)', m.jobsPerRedeploy),
        row('deployment created → activated', m.redeployMs),
      ],
    ),
  )
  console.log(`\nstages of each new appserver (ms, from its transition log)`)
  console.log(
    table(
      ['stage', 'n', 'p50', 'p95', 'max', 'mean'],
      m.stages.map((st) => row(st.stage, st.ms)),
    ),
  )
  kinds(`the rollout of ${r.options.instances}: appserver steps (ms)`, m.stepKinds)
  console.log(`\njobs (handler ms) and queueing latency (ms from due to picked up)`)
  console.log(
    table(
      ['queue', 'runs', 'handler p50', 'p95', 'max', 'queued p50', 'p95', 'max'],
      m.jobs.map((j) => {
        const q = m.queueLatencyMs.find((x) => x.queue === j.queue)?.ms
        return [
          j.queue,
          String(j.runs),
          ...[j.handlerMs.p50, j.handlerMs.p95, j.handlerMs.max].map((x) => x.toFixed(1)),
          ...(q ? [q.p50, q.p95, q.max].map((x) => x.toFixed(1)) : ['-', '-', '-']),
        ]
      }),
    ),
  )
  console.log(
    `rollout:  ${m.rolloutStarts.started} deployments started by ${m.rolloutStarts.steps} steps (each holds the rollout's row lock ` +
      `while it starts): ${m.rolloutStarts.msPerStart} ms of step time per start; longest step ${s(m.rolloutStarts.longestStepMs)}`,
  )
  const boss = Object.entries(m.queries.bossPerRedeploy)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ')
  console.log(
    `\ndatabase: per redeploy ` +
      (r.options.countQueries
        ? `${m.queries.prismaStatementsPerRedeploy} statements of ours (Prisma; BEGIN not counted) + ${m.queries.prismaCommitsPerRedeploy} transactions`
        : 'our statements not counted (--count-queries=0)') +
      `; pg-boss ${boss}`,
  )
  if (r.options.countQueries)
    console.log(
      `          ours by statement: ${Object.entries(m.queries.prismaShapesPerRedeploy)
        .slice(0, 8)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
    )
  console.log(
    `cpu:      worker${r.options.workers > 1 ? 's' : ''} ${s(m.cpuMs.worker)}, Nomad double ${m.cpuMs.double === null ? '-' : s(m.cpuMs.double)}, ` +
      (m.cpuMs.postgres === null
        ? 'PostgreSQL -'
        : `PostgreSQL ${s(m.cpuMs.postgres.ours)} for our queries + ${s(m.cpuMs.postgres.boss)} for pg-boss`) +
      ` (rollout start → last job; ${((m.cpuMs.worker + (m.cpuMs.postgres?.ours ?? 0) + (m.cpuMs.postgres?.boss ?? 0)) / r.options.instances).toFixed(0)} ms per redeploy without the double)`,
  )
  console.log(
    `memory:   worker peak RSS ${mib(m.peakRssBytes)} during the measured rollout (sampled every 200 ms; ${mib(m.peakRssWholeRunBytes)} ` +
      `over the whole run)` +
      (m.otherWorkersPeakRssBytes.length ? `, other worker processes ${m.otherWorkersPeakRssBytes.map(mib).join(', ')}` : '') +
      `; Nomad double ${mib(m.doublePeakRssBytes)}`,
  )
  console.log(
    `reconciler: ${m.reconciler.runs} runs, ${s(m.reconciler.ms)} in all; resumed ${m.reconciler.resumed} stalled appservers, ` +
      `destroyed ${m.reconciler.orphansDestroyed} orphans, failed ${m.reconciler.vanished} vanished`,
  )
  console.log(
    `orphans:  ${r.orphans.nomadJobsWithoutLiveAppserver} Nomad jobs without a live appserver, ${r.orphans.liveAppserversWithoutJob} ` +
      `live appservers without a job (${r.orphans.nomadJobs} jobs, ${r.orphans.liveAppservers} live appservers)`,
  )
  const p95 = m.bringUpOverheadMs.p95
  const verdict = (ok: boolean) => (ok ? 'met' : 'missed')
  console.log(
    `\ngoal on 2 cores: overhead per new appserver p95 under ${GOAL_OVERHEAD_P95_MS} ms — ${verdict(p95 < GOAL_OVERHEAD_P95_MS)} (${p95} ms` +
      (c ? `; one at a time ${c.bringUpOverheadMs.p95} ms)` : ')') +
      `; ${r.options.instances} redeploys under ${GOAL_WALL_S} s — ${verdict(m.rolloutMs / 1000 < GOAL_WALL_S)} (${s(m.rolloutMs)})`,
  )
}

// Runs on its own too: `node --import tsx bench/orchestration.ts [--boot-delay-ms=2000 …]`; and as the Nomad double's process.
if (process.argv.includes(NOMAD_DOUBLE_FLAG)) {
  void runNomadDoubleChild(Number(process.argv[process.argv.indexOf(NOMAD_DOUBLE_FLAG) + 1]))
} else if (process.argv.includes(WORKER_CHILD_FLAG)) {
  runWorkerChild().catch((err: unknown) => {
    console.error('worker process failed:', err)
    process.exit(1)
  })
} else if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  console.log(hardwareLine(hardware()))
  let stopping = false
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      stopping = true
      void runCleanups().finally(() => process.exit(130))
    })
  }
  run()
    .then(() => process.exit(0))
    .catch(async (err: unknown) => {
      if (stopping) return
      await runCleanups()
      console.error(err instanceof BenchError ? `\nbenchmark aborted: ${err.message}` : err)
      process.exit(1)
    })
}
