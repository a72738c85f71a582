import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { applyMigrations, defaultMigrationPaths, diffSchemaAgainstSnapshot } from '@/lib/db/migrate'
import { createScratchDatabase } from '@/test/support/scratch-database'
import { TEST_PG_URL } from '../support/postgres'

const paths = defaultMigrationPaths()
const committed = readdirSync(paths.migrationsDir, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort()

let scratch: Awaited<ReturnType<typeof createScratchDatabase>>

beforeAll(async () => {
  scratch = await createScratchDatabase(TEST_PG_URL, 'tenon_migrations')
})

afterAll(async () => {
  await scratch?.drop()
})

describe('migrations', () => {
  it('apply every committed migration to an empty database, then nothing the second time', async () => {
    expect(committed.length).toBeGreaterThan(0)
    expect(await applyMigrations(scratch.url, paths)).toEqual(committed)
    expect(await applyMigrations(scratch.url, paths)).toEqual([])
  })

  it('produce exactly the current schema: the snapshot matches prisma/schema.prisma', async () => {
    const diff = await diffSchemaAgainstSnapshot(scratch.url, paths)
    expect(diff.replace(/--.*$/gm, '').trim()).toBe('')
  })

  it('notice a schema change that has no migration yet', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'tenon-schema-'))
    try {
      const schemaFile = path.join(dir, 'schema.prisma')
      const schema = await readFile(paths.schemaFile, 'utf8')
      await writeFile(schemaFile, schema.replace(/(model Organization \{\n)/, '$1  website String?\n'))
      await copyFile(paths.schemaFile, path.join(dir, 'unchanged.prisma'))
      const diff = await diffSchemaAgainstSnapshot(scratch.url, { schemaFile, migrationsDir: paths.migrationsDir })
      expect(diff).toMatch(/ALTER TABLE "organizations" ADD COLUMN\s+"website" TEXT/)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('the snapshot is the schema file, word for word', async () => {
    const strip = (s: string) =>
      s
        .split('\n')
        .filter((l) => !l.trim().startsWith('//'))
        .join('\n')
        .trim()
    const snapshot = await readFile(path.join(paths.migrationsDir, 'schema_snapshot.prisma'), 'utf8')
    expect(strip(snapshot)).toBe(strip(await readFile(paths.schemaFile, 'utf8')))
  })
})
