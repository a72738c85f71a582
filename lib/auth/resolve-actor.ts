import type { Db } from '@/lib/db/client'
import { hashToken, TOKEN_PREFIX } from '@/lib/tokens/token-secret'
import { getLogger } from '@/lib/log'
import type { Actor, UserActor } from './actor'
import type { Auth } from './better-auth'

/**
 * The actor behind a request: an `Authorization: Bearer` API token, else the console session cookie.
 * Returns null when neither is valid. A revoked token or one whose user is gone never resolves.
 */
export async function resolveActor(opts: { db: Db; auth: Auth; headers: Headers }): Promise<UserActor | null> {
  const authorization = opts.headers.get('authorization')
  if (authorization) {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization)
    if (!match?.[1]?.startsWith(TOKEN_PREFIX)) return null
    return actorFromToken(opts.db, match[1])
  }
  const session = await opts.auth.api.getSession({ headers: opts.headers })
  if (!session) return null
  return loadUserActor(opts.db, session.user.id)
}

/** "Last used" is kept to the minute, so a busy token does not write on every request. */
const LAST_USED_RESOLUTION_MS = 60_000

async function actorFromToken(db: Db, token: string): Promise<UserActor | null> {
  const row = await db.apiToken.findUnique({ where: { tokenHash: hashToken(token) } })
  if (!row || row.revokedAt) return null
  if (!row.lastUsedAt || Date.now() - row.lastUsedAt.getTime() > LAST_USED_RESOLUTION_MS) {
    // Not awaited: a lost "last used" stamp is harmless; a slower request is not.
    void db.apiToken
      .update({ where: { id: row.id }, data: { lastUsedAt: new Date() } })
      .catch((err: unknown) => getLogger().warn({ err, apiTokenId: row.id }, 'could not record API token use'))
  }
  const actor = await loadUserActor(db, row.userId)
  return actor && { ...actor, apiTokenId: row.id }
}

export async function loadUserActor(db: Db, userId: string): Promise<UserActor | null> {
  const user = await db.user.findUnique({
    where: { id: userId },
    select: { id: true, email: true, name: true, isStaff: true, memberships: { select: { organizationId: true, role: true } } },
  })
  if (!user) return null
  return { kind: 'user', userId: user.id, email: user.email, name: user.name, isStaff: user.isStaff, memberships: user.memberships }
}

export type { Actor }
