/**
 * npm run db:migrate            apply pending migrations to DATABASE_URL (or the embedded PostgreSQL)
 * npm run db:migration -- NAME  write prisma/migrations/<timestamp>_NAME/migration.sql from the schema
 */
import { copyFile, mkdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { applyMigrations, defaultMigrationPaths, diffSchemaAgainstSnapshot, MIGRATION_LOCK, snapshotPath } from '@/lib/db/migrate'
import { withDatabase } from './lib/bootstrap'

const [verb, name] = process.argv.slice(2)

async function migrate() {
  await withDatabase(async (url, log) => {
    const applied = await applyMigrations(url)
    log.info({ applied }, applied.length ? `applied ${applied.length} migration(s)` : 'database is up to date')
  })
}

async function createMigration(migrationName: string | undefined) {
  if (!migrationName || !/^[a-z0-9_]+$/.test(migrationName)) {
    throw new Error('usage: npm run db:migration -- NAME   (NAME: lowercase letters, digits and _)')
  }
  await withDatabase(async (url, log) => {
    {
      const sql = await diffSchemaAgainstSnapshot(url)
      if (!sql.trim() || /^-- This is an empty migration\.\s*$/.test(sql.trim())) {
        log.info('the schema matches the migrations: nothing to write')
        return
      }
      const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14)
      const dir = path.join(defaultMigrationPaths().migrationsDir, `${stamp}_${migrationName}`)
      await mkdir(dir, { recursive: true })
      await writeFile(path.join(dir, 'migration.sql'), sql)
      await writeFile(path.join(defaultMigrationPaths().migrationsDir, 'migration_lock.toml'), MIGRATION_LOCK)
      await copyFile(defaultMigrationPaths().schemaFile, snapshotPath(defaultMigrationPaths()))
      log.info({ file: path.relative(process.cwd(), path.join(dir, 'migration.sql')) }, 'migration written: review it, then commit it')
    }
  })
}

const run =
  verb === 'migrate' ? migrate() : verb === 'migration' ? createMigration(name) : Promise.reject(new Error(`unknown verb ${verb}`))
run.catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err)
  process.exit(1)
})
