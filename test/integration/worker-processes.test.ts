import pino from 'pino'
import type PgBoss from 'pg-boss'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { expireCredentialsJob } from '@/lib/jobs/definitions'
import { startQueue } from '@/lib/jobs/queue'
import { runScript, type RunningScript } from '../support/run-script'
import { freshDatabase, waitFor, type FreshDatabase } from './helpers'

const JOBS = 8

/** `npm run worker`, twice, side by side on one database: every job runs exactly once. */
describe('npm run worker', () => {
  let fresh: FreshDatabase
  let boss: PgBoss
  const workers: RunningScript[] = []

  beforeAll(async () => {
    fresh = await freshDatabase()
    boss = await startQueue(fresh.url, pino({ level: 'silent' }))
  })

  afterAll(async () => {
    for (const worker of workers) worker.kill()
    await boss.stop({ graceful: false, wait: true, timeout: 5000 })
    await fresh.drop()
  })

  function startWorker() {
    const worker = runScript('scripts/worker.ts', [], {
      ...process.env,
      DATABASE_URL: fresh.url,
      LOG_LEVEL: 'info',
      WORKER_CONCURRENCY: '2',
    })
    workers.push(worker)
    return worker
  }

  it('processes each job once across several worker processes, and stops cleanly', async () => {
    const [a, b] = [startWorker(), startWorker()]
    await waitFor(
      'both workers to start',
      async () => a.output().includes('worker started') && b.output().includes('worker started'),
      60_000,
    )

    const ids = await Promise.all(Array.from({ length: JOBS }, () => boss.send(expireCredentialsJob.name, {})))
    await waitFor(
      'every job to complete',
      async () => {
        const jobs = await Promise.all(ids.map((id) => boss.getJobById(expireCredentialsJob.name, id!)))
        return jobs.every((j) => j?.state === 'completed')
      },
      60_000,
    )
    const done = [a, b].flatMap((w) =>
      w
        .output()
        .split('\n')
        .filter((line) => line.includes('"msg":"job done"'))
        .map((line) => JSON.parse(line) as { job: string; jobId: string })
        // The reconciler runs at every worker's start too: count only the jobs this test sent.
        .filter((entry) => entry.job === expireCredentialsJob.name)
        .map((entry) => entry.jobId),
    )
    expect(done.sort()).toEqual([...ids].sort())

    for (const w of [a, b]) expect(await w.stop()).toBe(0)
  })

  it('refuses to start without DATABASE_URL, naming the variable', async () => {
    const { DATABASE_URL: _unused, ...env } = process.env
    const worker = runScript('scripts/worker.ts', [], env)
    const code = await worker.exited()
    expect(code).not.toBe(0)
    expect(worker.output()).toContain('DATABASE_URL')
  })
})
