import { z } from 'zod'
import type { Actor } from '@/lib/auth/actor'
import { isStaff, requireUser } from '@/lib/auth/policy'
import { recordAudit } from '@/lib/audit/record-audit'
import type { Db } from '@/lib/db/client'
import type { ApiToken } from '@/lib/db/generated/client'
import { conflict, notFound } from '@/lib/errors'
import { generateToken } from './token-secret'

export const ZApiToken = z
  .object({
    id: z.uuid(),
    name: z.string(),
    prefix: z.string().describe('First characters of the token, to tell tokens apart.'),
    owner: z.object({ id: z.string(), email: z.string() }),
    createdAt: z.iso.datetime(),
    lastUsedAt: z.iso.datetime().nullable(),
    revokedAt: z.iso.datetime().nullable(),
  })
  .meta({ id: 'ApiToken' })
export type TApiToken = z.infer<typeof ZApiToken>

export const ZCreateApiTokenRequest = z
  .object({ name: z.string().trim().min(1, 'is required').max(100, 'must be at most 100 characters') })
  .strict()
  .meta({ id: 'CreateApiTokenRequest' })

function toApiToken(row: ApiToken & { user: { id: string; email: string } }): TApiToken {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    owner: row.user,
    createdAt: row.createdAt.toISOString(),
    lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
    revokedAt: row.revokedAt?.toISOString() ?? null,
  }
}

const OWNER = { user: { select: { id: true, email: true } } } as const

/** Creates an API token for `userId` (the actor's own, or anyone's when run by the system CLI). The token is returned once. */
export async function createApiToken(opts: {
  db: Db
  actor: Actor
  userId: string
  name: string
}): Promise<{ token: string; apiToken: TApiToken }> {
  if (opts.actor.kind === 'user' && opts.actor.userId !== opts.userId) throw notFound('User')
  const secret = generateToken()
  const row = await opts.db.$transaction(async (tx) => {
    const created = await tx.apiToken.create({
      data: { userId: opts.userId, name: opts.name, tokenHash: secret.hash, prefix: secret.prefix },
      include: OWNER,
    })
    await recordAudit(tx, {
      actor: opts.actor,
      action: 'api_token.created',
      targetType: 'api_token',
      targetId: created.id,
      organizationId: null,
      after: { name: created.name, prefix: created.prefix, owner: created.user.email },
    })
    return created
  })
  return { token: secret.token, apiToken: toApiToken(row) }
}

/** The actor's own tokens; staff see every token (to revoke a leaked one). */
export async function listApiTokens(opts: { db: Db; actor: Actor }): Promise<TApiToken[]> {
  const user = requireUser(opts.actor)
  const rows = await opts.db.apiToken.findMany({
    where: isStaff(user) ? {} : { userId: user.userId },
    orderBy: [{ revokedAt: { sort: 'desc', nulls: 'first' } }, { createdAt: 'desc' }],
    include: OWNER,
    take: 500,
  })
  return rows.map(toApiToken)
}

export async function revokeApiToken(opts: { db: Db; actor: Actor; id: string }): Promise<TApiToken> {
  const row = z.uuid().safeParse(opts.id).success ? await opts.db.apiToken.findUnique({ where: { id: opts.id }, include: OWNER }) : null
  const mayRevoke = row && (isStaff(opts.actor) || (opts.actor.kind === 'user' && opts.actor.userId === row.userId))
  if (!row || !mayRevoke) throw notFound('API token')
  if (row.revokedAt) throw conflict('The token is already revoked', toApiToken(row))
  const updated = await opts.db.$transaction(async (tx) => {
    // Of two concurrent revocations only one finds the token still live.
    const { count } = await tx.apiToken.updateMany({ where: { id: row.id, revokedAt: null }, data: { revokedAt: new Date() } })
    if (count === 0) return null
    const u = await tx.apiToken.findUniqueOrThrow({ where: { id: row.id }, include: OWNER })
    await recordAudit(tx, {
      actor: opts.actor,
      action: 'api_token.revoked',
      targetType: 'api_token',
      targetId: row.id,
      organizationId: null,
      before: { name: row.name, prefix: row.prefix, owner: row.user.email },
    })
    return u
  })
  if (!updated) {
    const latest = await opts.db.apiToken.findUniqueOrThrow({ where: { id: row.id }, include: OWNER })
    throw conflict('The token is already revoked', toApiToken(latest))
  }
  return toApiToken(updated)
}
