import { getAuth } from '@/lib/auth/better-auth'
import { getConfig } from '@/lib/config'
import { getDb } from '@/lib/db/client'

/** What every route handler gets: the process-wide config, database and auth. */
export function appContext() {
  return { config: getConfig(), db: getDb(), auth: getAuth() }
}
export type AppContext = ReturnType<typeof appContext>
