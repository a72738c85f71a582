import { randomUUID } from 'node:crypto'
import type PgBoss from 'pg-boss'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { getConfig } from '@/lib/config'
import type { Db } from '@/lib/db/client'
import { expireCredentialsJob } from '@/lib/jobs/definitions'
import { expireCredentials } from '@/lib/jobs/expire-credentials'
import { startQueue, startWorkers } from '@/lib/jobs/queue'
import { freshDatabase, waitFor, type FreshDatabase } from './helpers'

/**
 * The clean-up job, on a database of its own: it deletes across all tenants, so it must not race the
 * other test files' data (and their data must not make its "second run finds nothing" untrue).
 */
let fresh: FreshDatabase
let db: Db
const HOUR = 3600_000
const DAY = 24 * HOUR
const config = { invitationTtlHours: 168, revokedTokenRetentionDays: 30, signIn: { maxAttempts: 5, windowSeconds: 60 } }

beforeAll(async () => {
  fresh = await freshDatabase()
  db = fresh.db
})

afterAll(async () => {
  await fresh?.drop()
})

/** One of everything: what must go and what must stay. Returns the ids by fate. */
async function seed(now = Date.now()) {
  const tag = randomUUID().slice(0, 8)
  const userId = randomUUID()
  await db.user.create({ data: { id: userId, email: `jobs-${tag}@example.test`, name: 'Jobs' } })
  const org = await db.organization.create({ data: { name: `Jobs ${tag}`, slug: `jobs-${tag}` } })
  const session = (id: string, expiresAt: number) => ({ id, token: `t-${id}`, userId, expiresAt: new Date(expiresAt) })
  const gone = {
    sessions: [randomUUID()],
    invitations: [] as string[],
    apiTokens: [] as string[],
    verifications: [randomUUID()],
    rateLimits: [randomUUID()],
  }
  const kept = {
    sessions: [randomUUID()],
    invitations: [] as string[],
    apiTokens: [] as string[],
    verifications: [randomUUID()],
    rateLimits: [randomUUID()],
  }
  await db.session.createMany({ data: [session(gone.sessions[0]!, now - 1000), session(kept.sessions[0]!, now + HOUR)] })
  const invitation = async (fields: { expiresAt: number; acceptedAt?: number; revokedAt?: number }) =>
    (
      await db.invitation.create({
        data: {
          organizationId: org.id,
          email: `i-${randomUUID()}@example.test`,
          role: 'member',
          tokenHash: randomUUID(),
          expiresAt: new Date(fields.expiresAt),
          acceptedAt: fields.acceptedAt ? new Date(fields.acceptedAt) : null,
          revokedAt: fields.revokedAt ? new Date(fields.revokedAt) : null,
        },
      })
    ).id
  gone.invitations.push(
    await invitation({ expiresAt: now - 8 * DAY }),
    await invitation({ expiresAt: now + DAY, acceptedAt: now - 8 * DAY }),
    await invitation({ expiresAt: now + DAY, revokedAt: now - 8 * DAY }),
  )
  kept.invitations.push(
    await invitation({ expiresAt: now - HOUR }), // expired recently: still shown as "expired" for a while
    await invitation({ expiresAt: now + DAY }),
    await invitation({ expiresAt: now + DAY, acceptedAt: now - HOUR }),
  )
  const token = async (revokedAt: number | null) =>
    (
      await db.apiToken.create({
        data: { userId, name: 't', tokenHash: randomUUID(), prefix: 'tnn_x', revokedAt: revokedAt ? new Date(revokedAt) : null },
      })
    ).id
  gone.apiTokens.push(await token(now - 31 * DAY))
  kept.apiTokens.push(await token(now - 29 * DAY), await token(null))
  await db.verification.createMany({
    data: [
      { id: gone.verifications[0]!, identifier: 'x', value: 'v', expiresAt: new Date(now - 1000) },
      { id: kept.verifications[0]!, identifier: 'x', value: 'v', expiresAt: new Date(now + HOUR) },
    ],
  })
  await db.rateLimit.createMany({
    data: [
      { id: gone.rateLimits[0]!, key: `old-${tag}`, count: 3, lastRequest: BigInt(now - HOUR) },
      { id: kept.rateLimits[0]!, key: `new-${tag}`, count: 3, lastRequest: BigInt(now - 1000) },
    ],
  })
  return { gone, kept }
}

async function existing(ids: {
  sessions: string[]
  invitations: string[]
  apiTokens: string[]
  verifications: string[]
  rateLimits: string[]
}) {
  return {
    sessions: await db.session.count({ where: { id: { in: ids.sessions } } }),
    invitations: await db.invitation.count({ where: { id: { in: ids.invitations } } }),
    apiTokens: await db.apiToken.count({ where: { id: { in: ids.apiTokens } } }),
    verifications: await db.verification.count({ where: { id: { in: ids.verifications } } }),
    rateLimits: await db.rateLimit.count({ where: { id: { in: ids.rateLimits } } }),
  }
}

describe('expireCredentials', () => {
  it('deletes what can no longer be used, keeps the rest, and audits it', async () => {
    const { gone, kept } = await seed()
    const result = await expireCredentials(db, config)
    expect(result).toEqual({ sessions: 1, invitations: 3, apiTokens: 1, verifications: 1, rateLimits: 1 })
    expect(await existing(gone)).toEqual({ sessions: 0, invitations: 0, apiTokens: 0, verifications: 0, rateLimits: 0 })
    expect(await existing(kept)).toEqual({ sessions: 1, invitations: 3, apiTokens: 2, verifications: 1, rateLimits: 1 })
    const entry = await db.auditEntry.findFirstOrThrow({ where: { action: 'credentials.expired' }, orderBy: { at: 'desc' } })
    expect(entry).toMatchObject({ actorId: null, actorLabel: 'system:expire-credentials', organizationId: null })
    expect(entry.diff).toMatchObject({ invitations: { after: 3 }, apiTokens: { after: 1 } })
  })

  it('is idempotent: a second run finds nothing and records nothing', async () => {
    await seed()
    await expireCredentials(db, config)
    const audits = await db.auditEntry.count()
    expect(await expireCredentials(db, config)).toEqual({ sessions: 0, invitations: 0, apiTokens: 0, verifications: 0, rateLimits: 0 })
    expect(await db.auditEntry.count()).toBe(audits)
  })

  it('honours a zero-day token retention', async () => {
    const { kept } = await seed()
    const [revoked29DaysAgo, live] = kept.apiTokens as [string, string]
    await expireCredentials(db, { ...config, revokedTokenRetentionDays: 0 })
    expect(await db.apiToken.count({ where: { id: revoked29DaysAgo } })).toBe(0)
    expect(await db.apiToken.count({ where: { id: live } })).toBe(1)
  })
})

describe('the job queue', () => {
  let boss: PgBoss | undefined

  afterAll(async () => {
    await boss?.stop({ graceful: false, wait: true, timeout: 5000 })
  })

  it('runs maintenance.expire-credentials through pg-boss to completion', async () => {
    const log = pino({ level: 'silent' })
    boss = await startQueue(fresh.url, log)
    await startWorkers({ boss, db, config: { ...getConfig(), workerConcurrency: 1 }, log })
    const { gone, kept } = await seed()
    const id = await boss.send(expireCredentialsJob.name, {})
    expect(id).toEqual(expect.any(String))
    const job = await waitFor(
      'the job to complete',
      async () => {
        const j = await boss!.getJobById(expireCredentialsJob.name, id!)
        if (j?.state === 'failed') throw new Error(`job failed: ${JSON.stringify(j.output)}`)
        return j?.state === 'completed' ? j : null
      },
      20_000,
    )
    expect(job.output).toMatchObject({ sessions: 1, invitations: 3, apiTokens: 1 })
    expect(await existing(gone)).toEqual({ sessions: 0, invitations: 0, apiTokens: 0, verifications: 0, rateLimits: 0 })
    expect(await existing(kept)).toEqual({ sessions: 1, invitations: 3, apiTokens: 2, verifications: 1, rateLimits: 1 })
    const schedules = await boss.getSchedules()
    expect(schedules.map((s) => [s.name, s.cron])).toContainEqual([expireCredentialsJob.name, expireCredentialsJob.schedule])
  })
})
