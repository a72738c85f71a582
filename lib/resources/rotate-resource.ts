import { systemActor } from '@/lib/auth/actor'
import { recordAudit } from '@/lib/audit/record-audit'
import { sealJson } from '@/lib/secrets'
import type { ResourceContext } from './resource-context'
import { toFailure } from './resource-failure'
import { resourceSpec, storedCredentials, withResourceLock } from './resource-lock'

/**
 * The rotation job: gives the instance's user the pending password (stored, encrypted, when staff asked for the
 * rotation), checks it works, then stores the new credentials and forgets the pending password. Crash-safe:
 * until the swap commits, a retry rotates to the same pending password again.
 */
export async function rotateResource(ctx: ResourceContext, resourceId: string): Promise<'rotated' | 'nothing' | 'busy' | 'missing'> {
  const result = await withResourceLock(ctx, resourceId, async (tx, row) => {
    if (!row.pendingPassword || row.state !== 'ready') return 'nothing'
    const current = storedCredentials(ctx, row)
    if (!current) return 'nothing'
    const newPassword = ctx.box.decrypt(row.pendingPassword)
    const spec = resourceSpec(ctx, row, newPassword)
    const provisioner = ctx.provisioner(row.cluster)
    try {
      const credentials = await provisioner.rotate(spec, current)
      await provisioner.verify(spec, credentials)
      await tx.resource.update({
        where: { id: row.id },
        data: {
          credentials: sealJson(ctx.box, credentials),
          password: row.pendingPassword,
          pendingPassword: null,
          rotatedAt: ctx.now(),
          lastError: null,
        },
      })
      await recordAudit(tx, {
        actor: systemActor('resources'),
        action: 'resource.credentials_rotated',
        targetType: 'resource',
        targetId: row.id,
        organizationId: row.instance.organizationId,
      })
      return 'rotated' as const
    } catch (err) {
      const failure = toFailure(err)
      // A refusal (bad name, no IAM) will not change on retry: drop the pending password so the console offers a new rotation.
      await tx.resource.update({
        where: { id: row.id },
        data: failure.retryable
          ? { lastError: `rotation: ${failure.message}` }
          : { pendingPassword: null, lastError: `rotation refused: ${failure.message}` },
      })
      return failure.retryable ? ({ retry: failure.message } as const) : ('nothing' as const)
    }
  })
  // Thrown after the transaction committed the error, so the queue retries with its backoff.
  if (typeof result === 'object') throw new Error(`credential rotation failed: ${result.retry}`)
  return result
}
