import PgBoss from 'pg-boss'
import { getLogger } from '@/lib/log'
import { createQueues } from './queues'

export const QUEUE_SCHEMA = 'pgboss'

/** What lib/ needs from the queue: send a job, optionally not before a time. */
export interface JobSender {
  send(name: string, data: object, options?: { startAfter?: Date }): Promise<void>
}

const globalForQueue = globalThis as unknown as { tenonJobSender?: JobSender; tenonJobSenderStarting?: Promise<JobSender> }

/** Wraps a started pg-boss as a JobSender. */
export function bossSender(boss: PgBoss): JobSender {
  return {
    async send(name, data, options) {
      await boss.send(name, data, options?.startAfter ? { startAfter: options.startAfter } : {})
    },
  }
}

/** The process's sender: the worker's queue when this process runs one (scripts/start.ts registers it). */
export function setJobSender(sender: JobSender): void {
  globalForQueue.tenonJobSender = sender
}

/**
 * The sender for this process. A process without a worker (a separate web server, tests calling routes)
 * gets a send-only pg-boss: no maintenance, no schedules, the schema migrated by whoever started first.
 */
export async function getJobSender(databaseUrl: string): Promise<JobSender> {
  if (globalForQueue.tenonJobSender) return globalForQueue.tenonJobSender
  globalForQueue.tenonJobSenderStarting ??= (async () => {
    const boss = new PgBoss({ connectionString: databaseUrl, schema: QUEUE_SCHEMA, max: 2, supervise: false, schedule: false })
    boss.on('error', (err) => getLogger().error({ err }, 'job queue (send-only) error'))
    await boss.start()
    await createQueues(boss)
    const sender = bossSender(boss)
    globalForQueue.tenonJobSender = sender
    return sender
  })()
  return globalForQueue.tenonJobSenderStarting
}
