import type { Config } from '@/lib/config'
import type { Db } from '@/lib/db/client'
import { recordAudit } from '@/lib/audit/record-audit'
import { systemActor } from '@/lib/auth/actor'

export interface ExpireCredentialsResult {
  sessions: number
  invitations: number
  apiTokens: number
  verifications: number
  rateLimits: number
}

/**
 * Removes what can no longer be used: expired sessions, invitations that expired or were revoked/accepted
 * more than the invitation lifetime ago, API tokens revoked longer ago than the retention, expired
 * verification rows and stale rate-limit counters. Idempotent: a second run finds nothing.
 */
export async function expireCredentials(
  db: Db,
  config: Pick<Config, 'invitationTtlHours' | 'revokedTokenRetentionDays' | 'signIn'>,
  now = new Date(),
): Promise<ExpireCredentialsResult> {
  const invitationCutoff = new Date(now.getTime() - config.invitationTtlHours * 3600_000)
  const tokenCutoff = new Date(now.getTime() - config.revokedTokenRetentionDays * 86_400_000)
  const rateLimitCutoff = BigInt(now.getTime() - Math.max(config.signIn.windowSeconds, 60) * 1000 * 10)
  return db.$transaction(async (tx) => {
    const sessions = await tx.session.deleteMany({ where: { expiresAt: { lt: now } } })
    const invitations = await tx.invitation.deleteMany({
      where: {
        OR: [{ expiresAt: { lt: invitationCutoff } }, { acceptedAt: { lt: invitationCutoff } }, { revokedAt: { lt: invitationCutoff } }],
      },
    })
    const apiTokens = await tx.apiToken.deleteMany({ where: { revokedAt: { lt: tokenCutoff } } })
    const verifications = await tx.verification.deleteMany({ where: { expiresAt: { lt: now } } })
    const rateLimits = await tx.rateLimit.deleteMany({ where: { lastRequest: { lt: rateLimitCutoff } } })
    const result = {
      sessions: sessions.count,
      invitations: invitations.count,
      apiTokens: apiTokens.count,
      verifications: verifications.count,
      rateLimits: rateLimits.count,
    }
    if (result.invitations || result.apiTokens) {
      await recordAudit(tx, {
        actor: systemActor('expire-credentials'),
        action: 'credentials.expired',
        targetType: 'system',
        targetId: 'credentials',
        organizationId: null,
        after: result,
      })
    }
    return result
  })
}
