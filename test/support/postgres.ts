import pg from 'pg'

/** The PostgreSQL server the tests create their databases on. */
export const TEST_PG_URL = process.env.TEST_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres'

/** Fails with instructions when the test PostgreSQL is not running (tests never skip for a missing service). */
export async function assertPostgresReachable(): Promise<void> {
  const client = new pg.Client({ connectionString: TEST_PG_URL, connectionTimeoutMillis: 3000 })
  try {
    await client.connect()
    await client.query('SELECT 1')
  } catch (err) {
    throw new Error(
      `Tests need PostgreSQL at ${TEST_PG_URL} (set TEST_PG_URL to use another). Start it with:\n` +
        `  pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start\n(${(err as Error).message})`,
    )
  } finally {
    await client.end().catch(() => undefined)
  }
}
