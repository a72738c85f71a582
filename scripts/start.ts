/**
 * npm start: the whole product in one process. Embedded PostgreSQL when DATABASE_URL is unset,
 * pending migrations applied, a first-run setup code printed when no staff account exists yet, the
 * console built if needed and served, and (unless RUN_WORKER=false) the job worker.
 */
import path from 'node:path'
import { createDb } from '@/lib/db/client'
import { applyMigrations } from '@/lib/db/migrate'
import { startQueue, startWorkers } from '@/lib/jobs/queue'
import { bossSender, setJobSender } from '@/lib/jobs/send'
import { issueSetupCode } from '@/lib/setup/setup-code'
import { bootstrap } from './lib/bootstrap'
import { buildIfNeeded } from './lib/build'
import { startHttpServer } from './lib/server'
import { isShuttingDown, onShutdown } from './lib/shutdown'

const root = path.resolve(import.meta.dirname, '..')

async function main() {
  const { config, log, stop: stopDatabase } = await bootstrap({ embedded: true })
  onShutdown(log, 'database', stopDatabase)
  const applied = await applyMigrations(config.databaseUrl!)
  log.info({ applied }, applied.length ? `applied ${applied.length} migration(s)` : 'database schema is up to date')

  const db = createDb(config.databaseUrl!, { max: 2 })
  onShutdown(log, 'setup check', () => db.$disconnect())
  const code = await issueSetupCode(db)
  if (code) {
    log.info(
      `\n\n  First run: open ${config.publicUrl}/setup and enter this one-time setup code:\n\n      ${code}\n\n  It creates the first staff account. A restart issues a new code.\n`,
    )
  }

  const boss = await startQueue(config.databaseUrl!, log, {
    isStopping: isShuttingDown,
    rolloutSchedule: config.rolloutSchedule.cron,
    renewalSchedule: config.certificates.renewalCron,
  })
  onShutdown(log, 'job queue', () => boss.stop({ graceful: true, timeout: 10_000 }))
  // Route handlers in this process queue jobs through this pg-boss rather than opening another.
  setJobSender(bossSender(boss))
  if (config.runWorker) {
    const workers = await startWorkers({ boss, db: createDb(config.databaseUrl!, { max: config.workerConcurrency * 2 + 2 }), config, log })
    onShutdown(log, 'reconciler timer', async () => workers.stop())
  }

  await buildIfNeeded(root, log)
  const server = await startHttpServer({ config, log, dir: root })
  onShutdown(log, 'http server', () => server.close())
}

main().catch((err: unknown) => {
  console.error(err)
  process.exit(1)
})
