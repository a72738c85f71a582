import type { Actor } from '@/lib/auth/actor'
import { assertStaff } from '@/lib/auth/policy'
import { recordAudit } from '@/lib/audit/record-audit'
import { conflict } from '@/lib/errors'
import { QUEUES } from '@/lib/jobs/queues'
import { findReadableResource } from './find-resource'
import type { ResourceContext } from './resource-context'
import type { TResource } from './schemas'
import { RESOURCE_WITH_CLUSTER, toResource } from './to-resource'

/**
 * Staff run ensure again: after a failure, after fixing a cluster, or on a ready resource to check and repair
 * drift (a password changed by hand, a grant removed). Answers at once; the ensure job does the work.
 */
export async function retryResource(ctx: ResourceContext, actor: Actor, resourceId: string): Promise<TResource> {
  const current = await findReadableResource(ctx.db, actor, resourceId)
  assertStaff(actor)
  if (current.instance.status === 'archived') throw conflict('The instance is archived; restore it first')
  const row = await ctx.db.$transaction(async (tx) => {
    const updated = await tx.resource.updateMany({
      where: { id: resourceId, state: { in: ['failed', 'provisioning', 'ready'] } },
      data: { state: 'provisioning', attempts: 0, nextAttemptAt: ctx.now() },
    })
    if (!updated.count)
      throw conflict(`The resource is ${current.state}; only a failed, provisioning or ready resource can be ensured again`)
    await recordAudit(tx, {
      actor,
      action: 'resource.retried',
      targetType: 'resource',
      targetId: resourceId,
      organizationId: current.instance.organizationId,
      before: { state: current.state },
      after: { state: 'provisioning' },
    })
    return tx.resource.findUniqueOrThrow({ where: { id: resourceId }, include: RESOURCE_WITH_CLUSTER })
  })
  await ctx.jobs.send(QUEUES.ensureResource.name, { resourceId })
  return toResource(row, actor)
}
