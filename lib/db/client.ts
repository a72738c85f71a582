import { PrismaPg } from '@prisma/adapter-pg'
import { PrismaClient } from './generated/client'
import { getConfig, requireDatabaseUrl } from '@/lib/config'

export type Db = PrismaClient
export type { Prisma } from './generated/client'

export function createDb(databaseUrl: string, options: { max?: number } = {}): Db {
  return new PrismaClient({ adapter: new PrismaPg({ connectionString: databaseUrl, max: options.max ?? 10 }) })
}

// One client per process: Next.js may evaluate this module once per route bundle.
const globalForDb = globalThis as unknown as { tenonDb?: Db }

export function getDb(): Db {
  globalForDb.tenonDb ??= createDb(requireDatabaseUrl(getConfig()))
  return globalForDb.tenonDb
}

/** Replaces the process-wide client (tests and scripts that own their database). */
export function setDb(db: Db): void {
  globalForDb.tenonDb = db
}
