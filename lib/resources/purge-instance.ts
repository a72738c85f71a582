import type { Actor } from '@/lib/auth/actor'
import { systemActor } from '@/lib/auth/actor'
import { assertStaff } from '@/lib/auth/policy'
import { recordAudit } from '@/lib/audit/record-audit'
import { lockInstance } from '@/lib/deployments/locks'
import { conflict, invalidInput } from '@/lib/errors'
import { findReadableInstance } from '@/lib/instances/get-instance'
import { QUEUES } from '@/lib/jobs/queues'
import type { ResourceContext } from './resource-context'

/**
 * The purge job: once an archived instance's retention period is over (or staff asked to destroy now), its
 * resources go to destroying and a destroy job is sent for each (they run in parallel on the workers); the last
 * one to finish records when the instance's data was deleted (`completePurge`). Safe to run again at any point;
 * a restore that got there first leaves nothing to do.
 */
export async function purgeInstance(ctx: ResourceContext, instanceId: string): Promise<'started' | 'not-due' | 'purged'> {
  const ids = await ctx.db.$transaction(async (tx) => {
    const instance = await lockInstance(tx, instanceId)
    if (instance.status !== 'archived' || instance.purgedAt || !instance.purgeAfter || instance.purgeAfter > ctx.now()) return undefined
    const live = await tx.resource.findMany({ where: { instanceId, state: { notIn: ['destroyed'] } }, select: { id: true, state: true } })
    const starting = live.filter((r) => r.state !== 'destroying')
    if (starting.length) {
      await tx.resource.updateMany({ where: { id: { in: starting.map((r) => r.id) } }, data: { state: 'destroying', nextAttemptAt: null } })
      await recordAudit(tx, {
        actor: systemActor('resources'),
        action: 'instance.purge_started',
        targetType: 'instance',
        targetId: instanceId,
        organizationId: instance.organizationId,
        after: { resources: starting.length },
      })
    }
    return live.map((r) => r.id)
  })
  if (!ids) return 'not-due'
  for (const resourceId of ids) await ctx.jobs.send(QUEUES.destroyResource.name, { resourceId })
  return (await completePurge(ctx, instanceId)) ? 'purged' : 'started'
}

/**
 * Records that an archived instance's data is gone once none of its resources is left (called by the purge job and
 * after each destroy). Under the instance's row lock, so the last two destroys finishing together record it once.
 */
export async function completePurge(ctx: ResourceContext, instanceId: string): Promise<boolean> {
  return ctx.db.$transaction(async (tx) => {
    const instance = await lockInstance(tx, instanceId)
    if (instance.purgedAt) return true
    if (instance.status !== 'archived' || !instance.purgeAfter || instance.purgeAfter > ctx.now()) return false
    const left = await tx.resource.count({ where: { instanceId, state: { not: 'destroyed' } } })
    if (left) return false
    await tx.instance.update({ where: { id: instanceId }, data: { purgedAt: ctx.now() } })
    await recordAudit(tx, {
      actor: systemActor('resources'),
      action: 'instance.purged',
      targetType: 'instance',
      targetId: instanceId,
      organizationId: instance.organizationId,
    })
    return true
  })
}

/**
 * Staff destroy an archived instance's data now instead of at the end of the retention period. The slug must be
 * typed again (`confirm`), and the final export must have been taken: nothing is dropped without it.
 */
export async function requestPurge(ctx: ResourceContext, actor: Actor, instanceId: string, confirm: string): Promise<void> {
  const current = await findReadableInstance(ctx.db, actor, instanceId)
  assertStaff(actor)
  if (confirm !== current.slug) throw invalidInput([{ field: 'confirm', message: `must be the instance's slug ("${current.slug}")` }])
  await ctx.db.$transaction(async (tx) => {
    const instance = await lockInstance(tx, instanceId)
    if (instance.status !== 'archived') throw conflict('Only an archived instance can have its data destroyed; archive it first')
    if (instance.purgedAt) throw conflict(`The instance's data was already destroyed on ${instance.purgedAt.toISOString()}`)
    if (!instance.purgeAfter) throw conflict('The final export of the instance is not finished yet; its data can be destroyed once it is')
    const now = ctx.now()
    await tx.instance.update({ where: { id: instanceId }, data: { purgeAfter: now } })
    await recordAudit(tx, {
      actor,
      action: 'instance.purge_requested',
      targetType: 'instance',
      targetId: instanceId,
      organizationId: instance.organizationId,
      before: { purgeAfter: instance.purgeAfter.toISOString() },
      after: { purgeAfter: now.toISOString() },
    })
  })
  // Started here rather than by a job: it only marks the resources and queues their destroy jobs.
  await purgeInstance(ctx, instanceId)
}
