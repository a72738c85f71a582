import type { Actor } from '@/lib/auth/actor'
import { assertStaff } from '@/lib/auth/policy'
import { recordAudit } from '@/lib/audit/record-audit'
import type { Instance, Prisma } from '@/lib/db/generated/client'
import { lockInstance } from '@/lib/deployments/locks'
import { conflict } from '@/lib/errors'
import { findReadableInstance } from '@/lib/instances/get-instance'
import { QUEUES } from '@/lib/jobs/queues'
import type { JobSender } from '@/lib/jobs/send'
import type { SecretBox } from '@/lib/secrets'
import { placeResources } from './place-resources'
import type { ResourceContext } from './resource-context'

type Tx = Prisma.TransactionClient

/**
 * Places the instance's missing resources and records each placement, inside the caller's transaction (instance
 * creation, or staff provisioning what a new cluster now makes possible). Returns the ids to send ensure jobs for.
 */
export async function placeAndAudit(
  tx: Tx,
  opts: { actor: Actor; box: SecretBox; ownerTag: string; instance: Pick<Instance, 'id' | 'slug' | 'blueprint' | 'organizationId'> },
): Promise<string[]> {
  const placed = await placeResources(tx, { instance: opts.instance, ownerTag: opts.ownerTag, box: opts.box })
  for (const r of placed) {
    await recordAudit(tx, {
      actor: opts.actor,
      action: 'resource.placed',
      targetType: 'resource',
      targetId: r.id,
      organizationId: opts.instance.organizationId,
      after: { kind: r.kind, clusterId: r.clusterId, names: r.names },
    })
  }
  return placed.map((r) => r.id)
}

export async function sendEnsureJobs(jobs: JobSender, resourceIds: readonly string[]): Promise<void> {
  for (const resourceId of resourceIds) await jobs.send(QUEUES.ensureResource.name, { resourceId })
}

/** Staff provision whatever the instance's blueprint needs and it does not have (e.g. after a cluster was added). */
export async function provisionResources(ctx: ResourceContext, actor: Actor, instanceId: string): Promise<number> {
  await findReadableInstance(ctx.db, actor, instanceId)
  assertStaff(actor)
  const ids = await ctx.db.$transaction(async (tx) => {
    const instance = await lockInstance(tx, instanceId)
    if (instance.status === 'archived') throw conflict('The instance is archived; restore it first')
    return placeAndAudit(tx, { actor, box: ctx.box, ownerTag: ctx.config.ownerTag, instance })
  })
  await sendEnsureJobs(ctx.jobs, ids)
  return ids.length
}
