import { createServer } from 'node:net'
import { assertPostgresReachable, TEST_PG_URL } from './postgres'
import { runScript } from './run-script'
import { createScratchDatabase } from './scratch-database'

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
  const server = runScript('scripts/start.ts', [], {
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
  })
  try {
    await server.waitFor('console ready at', opts.readyTimeoutMs ?? 300_000)
  } catch (err) {
    // Nobody gets a stop() for a server that never came up: don't leave it or its database behind.
    server.kill()
    await server.exited()
    await db.drop().catch((dropErr: unknown) => console.error(`could not drop ${db.name}:`, dropErr))
    throw err
  }
  const setupCode = /([A-Z0-9]{5}-[A-Z0-9]{5}-[A-Z0-9]{5}-[A-Z0-9]{5})/.exec(server.output())?.[1] ?? ''
  return {
    baseUrl,
    databaseUrl: db.url,
    setupCode,
    output: server.output,
    stop: async () => {
      await server.stop()
      await db.drop()
    },
  }
}
