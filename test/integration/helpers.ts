import { randomInt } from 'node:crypto'
import { expect } from 'vitest'
import * as authRoute from '@/app/api/auth/[...all]/route'
import * as instancesRoute from '@/app/api/v1/instances/route'
import { createDb, getDb, type Db } from '@/lib/db/client'
import { applyMigrations } from '@/lib/db/migrate'
import { createScratchDatabase } from '@/test/support/scratch-database'
import { callRoute, type JsonBody } from '../support/call-route'
import { uniq } from '../support/fixtures'
import { TEST_PG_URL } from '../support/postgres'

/** PUBLIC_URL of the integration environment: the Origin the console's own pages send. */
export const CONSOLE_ORIGIN = 'http://console.test'

/** A client address no other test uses, for the sign-in rate limit. */
export const randomIp = () => `10.${randomInt(256)}.${randomInt(256)}.${randomInt(1, 255)}`

/** The field names of a 400 error body. */
export function fieldsOf(body: JsonBody): string[] {
  return ((body?.error?.fields ?? []) as { field: string }[]).map((f) => f.field)
}

/** Creates an instance through the API as `token` (staff), failing loudly if that does not work. */
export async function createInstanceVia(token: string, organizationId: string, body: Record<string, unknown> = {}): Promise<JsonBody> {
  const res = await callRoute(instancesRoute.POST, {
    token,
    body: { organizationId, name: `Instance ${uniq()}`, settings: { contactEmail: 'ops@example.test' }, ...body },
  })
  expect(res.status, JSON.stringify(res.body)).toBe(201)
  return res.body
}

export interface SignInResult {
  status: number
  /** "name=value; name2=value2" of the cookies set, to send back as the Cookie header */
  cookie: string
  body: JsonBody
}

/** Signs in through better-auth's own handler, as the console's sign-in form does. */
export async function signIn(email: string, password: string, ip = randomIp(), origin = CONSOLE_ORIGIN): Promise<SignInResult> {
  const headers: Record<string, string> = { 'content-type': 'application/json', 'x-tenon-client-ip': ip }
  if (origin) headers.origin = origin
  const response = await authRoute.POST(
    new Request(`${CONSOLE_ORIGIN}/api/auth/sign-in/email`, { method: 'POST', headers, body: JSON.stringify({ email, password }) }),
  )
  const cookie = response.headers
    .getSetCookie()
    .map((c) => c.split(';')[0]!)
    .join('; ')
  const text = await response.text()
  let body: JsonBody = text
  try {
    body = JSON.parse(text)
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, cookie, body }
}

/** Audit entries about one target, oldest first, straight from the table. */
export function auditOf(targetId: string) {
  return getDb().auditEntry.findMany({ where: { targetId }, orderBy: [{ at: 'asc' }, { id: 'asc' }] })
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Polls `check` until it returns a truthy value or the time is up; `explain` adds what was seen to the failure. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | null | undefined | false>,
  timeoutMs = 15_000,
  explain?: () => Promise<string>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${explain ? `: ${await explain()}` : ''}`)
    await sleep(100)
  }
}

export interface FreshDatabase {
  url: string
  db: Db
  drop(): Promise<void>
}

/** A separate, migrated database for tests that need one to themselves (setup, queue, readiness). */
export async function freshDatabase(): Promise<FreshDatabase> {
  const scratch = await createScratchDatabase(TEST_PG_URL, 'tenon_it')
  await applyMigrations(scratch.url)
  const db = createDb(scratch.url, { max: 4 })
  return {
    url: scratch.url,
    db,
    drop: async () => {
      await db.$disconnect()
      await scratch.drop()
    },
  }
}
