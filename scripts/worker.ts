/**
 * npm run worker: a job worker on its own. Run as many as you like, on any machine that reaches
 * DATABASE_URL; pg-boss gives each job to one of them.
 */
import { createDb } from '@/lib/db/client'
import { applyMigrations } from '@/lib/db/migrate'
import { startQueue, startWorkers } from '@/lib/jobs/queue'
import { bootstrap } from './lib/bootstrap'
import { isShuttingDown, onShutdown } from './lib/shutdown'

async function main() {
  const { config, log } = await bootstrap({ embedded: false })
  await applyMigrations(config.databaseUrl!)
  // Appserver steps hold a connection for their transaction: room for every queue's concurrent jobs.
  const db = createDb(config.databaseUrl!, { max: config.workerConcurrency * 2 + 2 })
  const boss = await startQueue(config.databaseUrl!, log, {
    isStopping: isShuttingDown,
    rolloutSchedule: config.rolloutSchedule.cron,
    renewalSchedule: config.certificates.renewalCron,
  })
  onShutdown(log, 'database', () => db.$disconnect())
  onShutdown(log, 'job queue', () => boss.stop({ graceful: true, timeout: 30_000 }))
  const workers = await startWorkers({ boss, db, config, log })
  onShutdown(log, 'reconciler timer', async () => workers.stop())
}

main().catch((err: unknown) => {
  console.error(err)
  process.exit(1)
})
