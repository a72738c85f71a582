import PgBoss from 'pg-boss'
import type { Logger } from 'pino'
import type { Config } from '@/lib/config'
import type { Db } from '@/lib/db/client'
import { createOrchestrator } from '@/lib/deployments/create-orchestrator'
import type { Orchestrator } from '@/lib/deployments/orchestrator'
import { createResourceContext, type ResourceContext } from '@/lib/resources/resource-context'
import { createDomainContext, type DomainContext } from '@/lib/domains/domain-context'
import { JOBS, type JobContext, type JobDefinition } from './definitions'
import { createQueues, QUEUES } from './queues'
import { bossSender, QUEUE_SCHEMA } from './send'

export { QUEUE_SCHEMA }

/** CERTIFICATE_RENEWAL_SCHEDULE's default, for processes started without a config (tests). */
const DEFAULT_RENEWAL_SCHEDULE = '17 3 * * *'

/** pg-boss on the control database. Starting it creates or upgrades its schema (under a lock, so many processes may start at once). */
export async function startQueue(
  databaseUrl: string,
  log: Logger,
  opts: { isStopping?: () => boolean; rolloutSchedule?: string; renewalSchedule?: string } = {},
): Promise<PgBoss> {
  const boss = new PgBoss({ connectionString: databaseUrl, schema: QUEUE_SCHEMA, max: 4 })
  // While the process stops, the database may go first (Ctrl-C reaches an embedded PostgreSQL too):
  // lost connections are then expected, not errors.
  boss.on('error', (err) =>
    opts.isStopping?.() ? log.debug({ err }, 'job queue connection closed during shutdown') : log.error({ err }, 'job queue error'),
  )
  await boss.start()
  await createQueues(boss)
  for (const job of JOBS) if (job.schedule) await boss.schedule(job.name, job.schedule, {}, { tz: 'UTC' })
  if (opts.rolloutSchedule) await boss.schedule(QUEUES.scheduledRollout.name, opts.rolloutSchedule, {}, { tz: 'UTC' })
  else await boss.unschedule(QUEUES.scheduledRollout.name)
  await boss.schedule(QUEUES.renewCertificates.name, opts.renewalSchedule ?? DEFAULT_RENEWAL_SCHEDULE, {}, { tz: 'UTC' })
  return boss
}

/** Queues whose jobs are short steps of a chain: polled often, logged at debug level (there are many). */
const STEP_QUEUES = new Set<string>([
  QUEUES.advanceAppserver.name,
  QUEUES.advanceDeployment.name,
  QUEUES.advanceRollout.name,
  QUEUES.ensureResource.name,
  QUEUES.destroyResource.name,
])

/**
 * pg-boss 10 runs one job at a time per work() subscription, at most one every pollingIntervalSeconds unless the job
 * took longer, and every subscription polls the database even when idle. Step queues get WORKER_CONCURRENCY
 * subscriptions; the others (maintenance, the reconciler, scheduled rollouts) get a job a minute or less: one each.
 * (With WORKER_CONCURRENCY 32 on every queue, a worker polled 240 times a second when idle; with this, 193.)
 */
function subscriptionsFor(queue: string, workerConcurrency: number): number {
  return STEP_QUEUES.has(queue) ? workerConcurrency : 1
}

/**
 * Runs the job handlers in this process. Many workers (on other machines too) may run side by side:
 * pg-boss hands each job to one of them with SKIP LOCKED. Also queues the reconciler every
 * RECONCILE_INTERVAL_SECONDS (at most one per interval across all workers) and once at start, so a worker
 * restarted after a crash picks up what the dead one left.
 */
export async function startWorkers(opts: {
  boss: PgBoss
  db: Db
  config: Config
  log: Logger
  jobs?: JobDefinition[]
  orchestrator?: Orchestrator
  resources?: ResourceContext
  domains?: DomainContext
}): Promise<{ stop: () => void }> {
  const orchestrator =
    opts.orchestrator ?? createOrchestrator({ db: opts.db, config: opts.config, log: opts.log, jobs: bossSender(opts.boss) })
  const resources = opts.resources ?? createResourceContext(orchestrator)
  const domains = opts.domains ?? createDomainContext(orchestrator)
  const ctx: JobContext = { db: opts.db, config: opts.config, log: opts.log, orchestrator, resources, domains }
  const jobs = opts.jobs ?? JOBS
  for (const job of jobs) {
    for (let i = 0; i < subscriptionsFor(job.name, opts.config.workerConcurrency); i++) await subscribe(job)
  }
  opts.log.info({ jobs: jobs.map((j) => j.name), concurrency: opts.config.workerConcurrency }, 'worker started')

  const intervalMs = opts.config.appservers.reconcileIntervalMs
  const queueReconcile = () =>
    opts.boss
      .send(QUEUES.reconcileAppservers.name, {}, { singletonSeconds: Math.max(1, Math.round(intervalMs / 1000)) })
      .catch((err: unknown) => opts.log.warn({ err }, 'could not queue the reconciler'))
  let timer: NodeJS.Timeout | undefined
  if (jobs.some((j) => j.name === QUEUES.reconcileAppservers.name)) {
    void queueReconcile()
    timer = setInterval(() => void queueReconcile(), intervalMs)
    timer.unref()
  }
  return {
    stop: () => {
      clearInterval(timer)
      // Pools of the cluster connections this worker opened; jobs still running finish on their own connections.
      if (!opts.resources) void resources.close()
    },
  }

  async function subscribe(job: JobDefinition) {
    const step = STEP_QUEUES.has(job.name)
    await opts.boss.work<object>(job.name, { batchSize: 1, pollingIntervalSeconds: step ? 0.5 : 2 }, async ([item]) => {
      if (!item) return
      const payload = job.payload.parse(item.data)
      const started = Date.now()
      const result = await job.handler(payload, ctx)
      opts.log[step ? 'debug' : 'info']({ job: job.name, jobId: item.id, ms: Date.now() - started, result }, 'job done')
      return result
    })
  }
}
