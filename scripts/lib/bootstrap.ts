import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { type Config, ConfigError, getConfig } from '@/lib/config'
import { startEmbeddedPostgres, type EmbeddedDatabase } from '@/lib/db/embedded'
import { getLogger } from '@/lib/log'
import { newSecretKeySpec } from '@/lib/secrets/cipher'
import type { Logger } from 'pino'

/**
 * Start-up for every entry point (start, worker, admin, db): reads the config (a bad variable stops here,
 * named), starts the embedded PostgreSQL when DATABASE_URL is unset, and fills in generated local secrets.
 * The values it fills in are written back to process.env because the Next.js server bundle reads its own
 * copy of the config from there.
 */
export async function bootstrap(opts: { embedded: boolean }): Promise<{ config: Config; log: Logger; stop: () => Promise<void> }> {
  let config: Config
  try {
    config = getConfig()
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message)
      process.exit(2)
    }
    throw err
  }
  const log = getLogger()
  let embedded: EmbeddedDatabase | undefined
  if (!config.databaseUrl) {
    if (!opts.embedded) {
      throw new ConfigError([
        { variable: 'DATABASE_URL', message: 'is required for this command when no `npm start` embedded database is wanted' },
      ])
    }
    embedded = await startEmbeddedPostgres({ dataDir: config.dataDir, port: config.embeddedPgPort, log })
    config.databaseUrl = embedded.url
    process.env.DATABASE_URL = embedded.url
  }
  if (!config.authSecret) {
    config.authSecret = await localSecret(config.dataDir, 'auth-secret')
    process.env.AUTH_SECRET = config.authSecret
  }
  if (!config.secretsKeys) {
    config.secretsKeys = await localSecret(config.dataDir, 'secrets-keys', () => newSecretKeySpec('local1'))
    process.env.SECRETS_KEYS = config.secretsKeys
  }
  return { config, log, stop: async () => embedded?.stop() }
}

/** A secret generated once and kept in DATA_DIR (mode 0600), for the no-configuration setup. */
async function localSecret(dataDir: string, name: string, generate = () => randomBytes(32).toString('base64url')): Promise<string> {
  const file = path.resolve(dataDir, name)
  if (existsSync(file)) return (await readFile(file, 'utf8')).trim()
  await mkdir(path.dirname(file), { recursive: true })
  const value = generate()
  await writeFile(file, value + '\n', { mode: 0o600 })
  return value
}

/** Runs fn with a database URL (embedded if needed) and stops the embedded server afterwards. */
export async function withDatabase<T>(fn: (url: string, log: Logger, config: Config) => Promise<T>): Promise<T> {
  const { config, log, stop } = await bootstrap({ embedded: true })
  try {
    return await fn(config.databaseUrl!, log, config)
  } finally {
    await stop()
  }
}
