import type { Config } from '@/lib/config'
import type { Db } from '@/lib/db/client'
import { z } from 'zod'
import { expireCredentials } from './expire-credentials'

export interface JobContext {
  db: Db
  config: Config
}

/**
 * Jobs as data: name, payload schema, retry policy, timeout, optional schedule and handler.
 * Every handler is idempotent: pg-boss may run a job again after a crash or a timeout.
 */
export interface JobDefinition<T extends z.ZodType = z.ZodType> {
  name: string
  payload: T
  retryLimit: number
  retryDelaySeconds: number
  expireInSeconds: number
  /** cron (UTC) when the job runs on a schedule; pg-boss makes sure one worker enqueues it per tick */
  schedule?: string
  handler: (payload: z.infer<T>, ctx: JobContext) => Promise<unknown>
}

export const expireCredentialsJob: JobDefinition = {
  name: 'maintenance.expire-credentials',
  payload: z.object({}).passthrough(),
  retryLimit: 3,
  retryDelaySeconds: 60,
  expireInSeconds: 300,
  schedule: '*/15 * * * *',
  handler: (_payload, { db, config }) => expireCredentials(db, config),
}

export const JOBS: JobDefinition[] = [expireCredentialsJob]
