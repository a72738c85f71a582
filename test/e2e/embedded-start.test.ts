import { chmod, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { runScript, type RunningScript } from '../support/run-script'
import { freePort } from '../support/server'

/**
 * `npm start` with no configuration: embedded PostgreSQL in DATA_DIR, migrations, setup code. Started
 * twice on the same folder, the second start keeps the data and applies no migration.
 */
describe('npm start without DATABASE_URL', () => {
  let dataParent = ''
  const running: RunningScript[] = []

  afterAll(async () => {
    for (const server of running) server.kill()
    if (dataParent) await rm(dataParent, { recursive: true, force: true })
  })

  async function start(env: Record<string, string>) {
    const { DATABASE_URL: _ignored, ...inherited } = process.env
    const server = runScript('scripts/start.ts', [], {
      ...inherited,
      ...env,
      NODE_ENV: 'production',
      LOG_LEVEL: 'info',
      NEXT_TELEMETRY_DISABLED: '1',
    })
    running.push(server)
    await server.waitFor('console ready at', 240_000)
    return server
  }

  it('starts an embedded PostgreSQL, keeps the data across a restart and applies migrations once', async () => {
    dataParent = await mkdtemp(path.join(tmpdir(), 'tenon-embedded-'))
    // As root, PostgreSQL runs as the postgres user, which must be able to reach DATA_DIR.
    await chmod(dataParent, 0o755)
    const port = await freePort()
    // freePort() releases the port it found, so a second call can return the same one: insist on two.
    let pgPort = await freePort()
    while (pgPort === port) pgPort = await freePort()
    const env = {
      DATA_DIR: path.join(dataParent, 'data'),
      EMBEDDED_PG_PORT: String(pgPort),
      PORT: String(port),
      HOST: '127.0.0.1',
      PUBLIC_URL: `http://127.0.0.1:${port}`,
    }
    const base = env.PUBLIC_URL

    const first = await start(env)
    expect(first.output()).toContain('initialising embedded PostgreSQL')
    expect(first.output()).toMatch(/applied \d+ migration\(s\)/)
    const code = /([A-Z0-9]{5}-[A-Z0-9]{5}-[A-Z0-9]{5}-[A-Z0-9]{5})/.exec(first.output())?.[1]
    expect(code).toBeTruthy()
    const claim = await fetch(`${base}/api/v1/setup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code, email: 'first@example.test', name: 'First', password: 'first-password-1' }),
    })
    expect(claim.status).toBe(201)
    // An orderly stop: HTTP server, job queue, then the database, and a clean exit.
    expect(await first.stop()).toBe(0)
    expect(first.output()).toContain('embedded PostgreSQL stopped')
    expect(first.output()).not.toContain('job queue error')

    const second = await start(env)
    try {
      expect(second.output()).toContain('database schema is up to date')
      expect(second.output()).not.toContain('initialising embedded PostgreSQL')
      expect(second.output()).not.toContain('one-time setup code')
      expect(await (await fetch(`${base}/api/v1/setup`)).json()).toEqual({ needed: false })
      const signIn = await fetch(`${base}/api/auth/sign-in/email`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: base },
        body: JSON.stringify({ email: 'first@example.test', password: 'first-password-1' }),
      })
      expect(signIn.status).toBe(200)
    } finally {
      expect(await second.stop()).toBe(0)
    }
  })
})
