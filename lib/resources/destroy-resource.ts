import { systemActor } from '@/lib/auth/actor'
import { recordAudit } from '@/lib/audit/record-audit'
import type { ResourceState } from '@/lib/db/generated/enums'
import { completePurge } from './purge-instance'
import type { ResourceContext } from './resource-context'
import { namesOf, withResourceLock } from './resource-lock'

/**
 * The destroy job: removes a destroying resource's objects from its cluster (databases and their data, users,
 * vhost, bucket and its objects), then records it destroyed. Idempotent: already gone is fine, and a failure
 * is thrown for the queue to retry (the reconciler re-sends destroying resources that stall).
 */
export async function destroyResource(ctx: ResourceContext, resourceId: string): Promise<ResourceState | 'busy' | 'missing'> {
  let instanceId: string | undefined
  const result = await withResourceLock(ctx, resourceId, async (tx, row) => {
    instanceId = row.instanceId
    if (row.state !== 'destroying') return row.state
    await ctx.provisioner(row.cluster).destroy(namesOf(row))
    await tx.resource.update({
      where: { id: row.id },
      data: { state: 'destroyed', destroyedAt: ctx.now(), pendingPassword: null, credentials: null },
    })
    await recordAudit(tx, {
      actor: systemActor('resources'),
      action: 'resource.destroyed',
      targetType: 'resource',
      targetId: row.id,
      organizationId: row.instance.organizationId,
      before: { state: row.state, cluster: row.cluster.name, names: row.names },
      after: { state: 'destroyed' },
    })
    return 'destroyed' as const
  })
  // The last resource of a purged instance records the purge (after this transaction committed, so it is counted).
  if (result === 'destroyed' && instanceId) await completePurge(ctx, instanceId)
  return result
}
