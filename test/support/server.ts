import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { createLocalDriver } from '@/provisioners/vm/local'
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
 * Appserver lifecycle timings for browser tests: quick checks and a short drain (as FAST_ENV in deployer.ts),
 * with more room for health checks since a browser shares the machine. ROLLBACK_KEEP=1 keeps one replaced
 * deployment, so a third deploy terminates the first.
 */
export const E2E_DEPLOY_ENV = {
  VM_POLL_INTERVAL_SECONDS: '0.1',
  HEALTH_CHECK_INTERVAL_SECONDS: '0.1',
  HEALTH_CHECK_TIMEOUT_SECONDS: '2',
  HEALTH_DEADLINE_SECONDS: '15',
  PROVISION_TIMEOUT_SECONDS: '30',
  DRAIN_SECONDS: '0.5',
  RECONCILE_INTERVAL_SECONDS: '1',
  ORPHAN_GRACE_SECONDS: '5',
  ROLLBACK_KEEP: '1',
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
  // Generated secrets and local appservers in a folder of this server's own; a unique owner tag, so the
  // server's reconciler never touches another server's appservers, and stop() finds all of its own.
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'tenon-e2e-'))
  const appserverDir = path.join(dataDir, 'appservers')
  const ownerTag = `e2e-${randomBytes(6).toString('hex')}`
  const removeAppservers = async () => {
    const driver = createLocalDriver({ stateDir: appserverDir, ownerTag })
    for (const vm of await driver.list()) await driver.destroy({ externalId: vm.externalId }, () => {})
    await rm(dataDir, { recursive: true, force: true })
  }
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
    DATA_DIR: dataDir,
    VM_DRIVER: 'local',
    LOCAL_APPSERVER_DIR: appserverDir,
    OWNER_TAG: ownerTag,
    ...E2E_DEPLOY_ENV,
    ...opts.env,
  })
  try {
    await server.waitFor('console ready at', opts.readyTimeoutMs ?? 300_000)
  } catch (err) {
    // Nobody gets a stop() for a server that never came up: don't leave it or its database behind.
    server.kill()
    await server.exited()
    await db.drop().catch((dropErr: unknown) => console.error(`could not drop ${db.name}:`, dropErr))
    await removeAppservers().catch((rmErr: unknown) => console.error(`could not remove ${dataDir}:`, rmErr))
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
      // Appservers are detached processes that outlive the server: stop the ones the test left running.
      await removeAppservers()
      await db.drop()
    },
  }
}

/** An afterEach hook: when a test failed, the server's own story of what went wrong, minus the reconciler's chatter. */
export function printServerOutputOnFailure(server: () => TestServer | undefined) {
  return ({ task }: { task: { result?: { state: string } } }) => {
    const running = server()
    if (task.result?.state !== 'fail' || !running) return
    const lines = running
      .output()
      .split('\n')
      .filter((l) => !l.includes('"job":"appservers.reconcile"'))
    console.error(`--- server output (last 60 lines) ---\n${lines.slice(-60).join('\n')}`)
  }
}
