import { spawn, type ChildProcess } from 'node:child_process'
import path from 'node:path'
import pino from 'pino'
import type PgBoss from 'pg-boss'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { expireCredentialsJob } from '@/lib/jobs/definitions'
import { startQueue } from '@/lib/jobs/queue'
import { freshDatabase, waitFor, type FreshDatabase } from './helpers'

const ROOT = path.resolve(import.meta.dirname, '../..')
const JOBS = 8

/** `npm run worker`, twice, side by side on one database: every job runs exactly once. */
describe('npm run worker', () => {
  let fresh: FreshDatabase
  let boss: PgBoss
  const workers: { child: ChildProcess; output: () => string }[] = []

  beforeAll(async () => {
    fresh = await freshDatabase()
    boss = await startQueue(fresh.url, pino({ level: 'silent' }))
  })

  afterAll(async () => {
    for (const { child } of workers) if (child.exitCode === null) child.kill('SIGKILL')
    await boss.stop({ graceful: false, wait: true, timeout: 5000 })
    await fresh.drop()
  })

  function startWorker() {
    const { DATABASE_URL: _unused, ...env } = process.env
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/worker.ts'], {
      cwd: ROOT,
      env: { ...env, DATABASE_URL: fresh.url, LOG_LEVEL: 'info', WORKER_CONCURRENCY: '2' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()))
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()))
    const worker = { child, output: () => out }
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
        .map((line) => (JSON.parse(line) as { jobId: string }).jobId),
    )
    expect(done.sort()).toEqual([...ids].sort())

    for (const w of [a, b]) {
      const exited = new Promise<number | null>((resolve) => w.child.once('exit', resolve))
      w.child.kill('SIGTERM')
      expect(await exited).toBe(0)
    }
  })

  it('refuses to start without DATABASE_URL, naming the variable', async () => {
    const { DATABASE_URL: _unused, ...env } = process.env
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/worker.ts'], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()))
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()))
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
    expect(code).not.toBe(0)
    expect(out).toContain('DATABASE_URL')
  })
})
