import { spawn, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import path from 'node:path'
import { createScratchDatabase } from './scratch-database'
import { assertPostgresReachable, TEST_PG_URL } from './postgres'

const ROOT = path.resolve(import.meta.dirname, '../..')

export interface TestServer {
  baseUrl: string
  databaseUrl: string
  /** the one-time setup code the server printed */
  setupCode: string
  /** everything the server printed so far */
  output(): string
  stop(): Promise<void>
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number }
      srv.close(() => resolve(port))
    })
  })
}

/**
 * Runs the product as `npm start` does (scripts/start.ts: migrations, setup code, build if needed, HTTP
 * server, worker) against a fresh database, on a free port. Used by the browser tests and benchmarks.
 */
export async function startTestServer(opts: { env?: Record<string, string>; readyTimeoutMs?: number } = {}): Promise<TestServer> {
  await assertPostgresReachable()
  const db = await createScratchDatabase(TEST_PG_URL, 'tenon_e2e')
  const port = await freePort()
  const baseUrl = `http://127.0.0.1:${port}`
  let out = ''
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      NODE_ENV: 'production',
      DATABASE_URL: db.url,
      PORT: String(port),
      HOST: '127.0.0.1',
      PUBLIC_URL: baseUrl,
      AUTH_SECRET: 'e2e-tests-secret-e2e-tests-secret-e2e-tests',
      LOG_LEVEL: 'info',
      NEXT_TELEMETRY_DISABLED: '1',
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()))
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))

  const deadline = Date.now() + (opts.readyTimeoutMs ?? 300_000)
  try {
    while (!out.includes('console ready at')) {
      if (child.exitCode !== null) throw new Error(`the server exited (${child.exitCode}) before it was ready:\n${out.slice(-4000)}`)
      if (Date.now() > deadline) throw new Error(`the server was not ready in time:\n${out.slice(-4000)}`)
      await new Promise((r) => setTimeout(r, 200))
    }
  } catch (err) {
    // Nobody gets a stop() for a server that never came up: don't leave it or its database behind.
    if (child.exitCode === null) {
      child.kill('SIGKILL')
      await exited
    }
    await db.drop().catch((dropErr: unknown) => console.error(`could not drop ${db.name}:`, dropErr))
    throw err
  }
  const setupCode = /([A-Z0-9]{5}-[A-Z0-9]{5}-[A-Z0-9]{5}-[A-Z0-9]{5})/.exec(out)?.[1] ?? ''
  return {
    baseUrl,
    databaseUrl: db.url,
    setupCode,
    output: () => out,
    stop: async () => {
      if (child.exitCode === null) {
        child.kill('SIGTERM')
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
        await exited
        clearTimeout(timer)
      }
      await db.drop()
    },
  }
}
