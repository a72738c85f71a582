import PgBoss from 'pg-boss'
import type { Logger } from 'pino'
import type { Config } from '@/lib/config'
import type { Db } from '@/lib/db/client'
import { JOBS, type JobDefinition } from './definitions'

export const QUEUE_SCHEMA = 'pgboss'

/** pg-boss on the control database. Starting it creates or upgrades its schema (under a lock, so many processes may start at once). */
export async function startQueue(databaseUrl: string, log: Logger, opts: { isStopping?: () => boolean } = {}): Promise<PgBoss> {
  const boss = new PgBoss({ connectionString: databaseUrl, schema: QUEUE_SCHEMA, max: 4 })
  // While the process stops, the database may go first (Ctrl-C reaches an embedded PostgreSQL too):
  // lost connections are then expected, not errors.
  boss.on('error', (err) =>
    opts.isStopping?.() ? log.debug({ err }, 'job queue connection closed during shutdown') : log.error({ err }, 'job queue error'),
  )
  await boss.start()
  for (const job of JOBS) {
    await boss.createQueue(job.name, {
      name: job.name,
      retryLimit: job.retryLimit,
      retryDelay: job.retryDelaySeconds,
      retryBackoff: true,
      expireInSeconds: job.expireInSeconds,
    })
    if (job.schedule) await boss.schedule(job.name, job.schedule, {}, { tz: 'UTC' })
  }
  return boss
}

/**
 * Runs the job handlers in this process. Many workers (on other machines too) may run side by side:
 * pg-boss hands each job to one of them with SKIP LOCKED.
 */
export async function startWorkers(opts: { boss: PgBoss; db: Db; config: Config; log: Logger; jobs?: JobDefinition[] }): Promise<void> {
  // pg-boss 10 runs one job at a time per work() subscription: WORKER_CONCURRENCY subscriptions per queue.
  for (const job of opts.jobs ?? JOBS) {
    for (let i = 0; i < opts.config.workerConcurrency; i++) await subscribe(job)
  }
  opts.log.info({ jobs: (opts.jobs ?? JOBS).map((j) => j.name), concurrency: opts.config.workerConcurrency }, 'worker started')

  async function subscribe(job: JobDefinition) {
    await opts.boss.work<object>(job.name, { batchSize: 1, pollingIntervalSeconds: 2 }, async ([item]) => {
      if (!item) return
      const payload = job.payload.parse(item.data)
      const started = Date.now()
      const result = await job.handler(payload, { db: opts.db, config: opts.config })
      opts.log.info({ job: job.name, jobId: item.id, ms: Date.now() - started, result }, 'job done')
      return result
    })
  }
}

/** Jobs in the queue by name and state, for /api/metrics. None while the queue's schema does not exist yet. */
export async function jobCounts(db: Db): Promise<{ name: string; state: string; count: number }[]> {
  const [schema] = await db.$queryRawUnsafe<{ ok: boolean }[]>(`SELECT to_regclass('${QUEUE_SCHEMA}.job') IS NOT NULL AS ok`)
  if (!schema?.ok) return []
  const rows = await db.$queryRawUnsafe<{ name: string; state: string; count: bigint }[]>(
    `SELECT name, state::text AS state, count(*) AS count FROM ${QUEUE_SCHEMA}.job GROUP BY name, state`,
  )
  return rows.map((r) => ({ name: r.name, state: r.state, count: Number(r.count) }))
}
