import type { Actor } from '@/lib/auth/actor'
import { assertStaff } from '@/lib/auth/policy'
import { recordAudit } from '@/lib/audit/record-audit'
import { conflict } from '@/lib/errors'
import { QUEUES } from '@/lib/jobs/queues'
import { findReadableResource } from './find-resource'
import { generatePassword } from './place-resources'
import type { ResourceContext } from './resource-context'
import type { TResource } from './schemas'
import { RESOURCE_WITH_CLUSTER, toResource } from './to-resource'

/**
 * Staff give an instance new credentials for one resource. The new password is generated and stored (encrypted)
 * first, so the rotation job is crash-safe; the old credentials stop working, so the console offers a redeploy.
 */
export async function requestRotation(ctx: ResourceContext, actor: Actor, resourceId: string): Promise<TResource> {
  const current = await findReadableResource(ctx.db, actor, resourceId)
  assertStaff(actor)
  const row = await ctx.db.$transaction(async (tx) => {
    const updated = await tx.resource.updateMany({
      where: { id: resourceId, state: 'ready', pendingPassword: null },
      data: { pendingPassword: ctx.box.encrypt(generatePassword()) },
    })
    if (!updated.count) {
      throw conflict(
        current.pendingPassword
          ? 'A rotation of these credentials is already in progress'
          : `The resource is ${current.state}; only a ready resource can rotate its credentials`,
      )
    }
    await recordAudit(tx, {
      actor,
      action: 'resource.credentials_rotation_requested',
      targetType: 'resource',
      targetId: resourceId,
      organizationId: current.instance.organizationId,
    })
    return tx.resource.findUniqueOrThrow({ where: { id: resourceId }, include: RESOURCE_WITH_CLUSTER })
  })
  await ctx.jobs.send(QUEUES.rotateResource.name, { resourceId })
  return toResource(row, actor)
}
