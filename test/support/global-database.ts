import type { TestProject } from 'vitest/node'
import { applyMigrations } from '@/lib/db/migrate'
import { createScratchDatabase } from './scratch-database'
import { assertPostgresReachable, TEST_PG_URL } from './postgres'

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string
  }
}

/** One fresh database per test run, migrated, dropped at the end. */
export default async function setup(project: TestProject) {
  await assertPostgresReachable()
  const db = await createScratchDatabase(TEST_PG_URL, 'tenon_test')
  await applyMigrations(db.url)
  project.provide('databaseUrl', db.url)
  return async () => {
    await db.drop()
  }
}
