import { QUEUES } from '@/lib/jobs/queues'
import type { Actor } from '@/lib/auth/actor'
import { assertStaff } from '@/lib/auth/policy'
import { recordAudit } from '@/lib/audit/record-audit'
import { lockInstance } from '@/lib/deployments/locks'
import { conflict } from '@/lib/errors'
import { findReadableInstance } from '@/lib/instances/get-instance'
import type { TInstance } from '@/lib/instances/schemas'
import { INSTANCE_INCLUDE, toInstance } from '@/lib/instances/to-instance'
import { sendEnsureJobs } from './provision-resources'
import type { ResourceContext } from './resource-context'

/**
 * Staff bring an archived instance back within its retention period: it is no longer archived, its retained
 * resources are ensured again (which also checks their credentials still work), and the console offers a deploy.
 */
export async function restoreInstance(ctx: ResourceContext, actor: Actor, instanceId: string): Promise<TInstance> {
  const current = await findReadableInstance(ctx.db, actor, instanceId)
  assertStaff(actor)
  const { row, resourceIds } = await ctx.db.$transaction(async (tx) => {
    const instance = await lockInstance(tx, instanceId)
    if (instance.status !== 'archived') throw conflict('The instance is not archived')
    if (instance.purgedAt) throw conflict(`The instance's data was destroyed on ${instance.purgedAt.toISOString()}; it cannot be restored`)
    const destroying = await tx.resource.count({ where: { instanceId, state: 'destroying' } })
    if (destroying) throw conflict("The instance's data is being destroyed; it cannot be restored")
    const resources = await tx.resource.findMany({ where: { instanceId, state: { in: ['retained', 'failed', 'provisioning', 'ready'] } } })
    const again = resources.filter((r) => r.state !== 'ready')
    await tx.resource.updateMany({
      where: { id: { in: again.map((r) => r.id) } },
      data: { state: 'provisioning', attempts: 0, lastError: null, nextAttemptAt: ctx.now() },
    })
    const updated = await tx.instance.update({
      where: { id: instanceId },
      data: { status: 'new', archivedAt: null, purgeAfter: null, version: { increment: 1 } },
      include: INSTANCE_INCLUDE,
    })
    await recordAudit(tx, {
      actor,
      action: 'instance.restored',
      targetType: 'instance',
      targetId: instanceId,
      organizationId: instance.organizationId,
      before: { status: current.status, purgeAfter: instance.purgeAfter?.toISOString() ?? null },
      after: { status: 'new' },
    })
    return { row: updated, resourceIds: again.map((r) => r.id) }
  })
  await sendEnsureJobs(ctx.jobs, resourceIds)
  await ctx.jobs.send(QUEUES.syncDns.name, { instanceId })
  await ctx.jobs.send(QUEUES.reconcileCertificates.name, {})
  return toInstance(row, ctx.config.hostingZone)
}
