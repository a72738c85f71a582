import { randomBytes } from 'node:crypto'
import pg from 'pg'

/**
 * Creates a new, empty database on the server of `serverUrl` and returns its URL and a drop function.
 * Used by the tests (one fresh database per run, and empty ones for setup, migrations and the queue) and benchmarks.
 */
export async function createScratchDatabase(
  serverUrl: string,
  prefix = 'tenon_scratch',
): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const name = `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`
  const admin = new pg.Client({ connectionString: serverUrl })
  await admin.connect()
  try {
    await admin.query(`CREATE DATABASE "${name}"`)
  } finally {
    await admin.end()
  }
  const url = new URL(serverUrl)
  url.pathname = `/${name}`
  return {
    url: url.toString(),
    name,
    drop: async () => {
      const c = new pg.Client({ connectionString: serverUrl })
      await c.connect()
      try {
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)
      } finally {
        await c.end()
      }
    },
  }
}
