import type { Actor } from '@/lib/auth/actor'
import { recordAudit } from '@/lib/audit/record-audit'
import type { Db } from '@/lib/db/client'
import type { Prisma } from '@/lib/db/generated/client'
import { auditableInstance, INSTANCE_INCLUDE, type InstanceRow } from './to-instance'

/**
 * Writes a change to an instance only if it still has the version that was read (and matches `where`),
 * bumping the version, and audits it in the same transaction. Returns null when someone else changed
 * the instance first: the caller answers 409 with the current state.
 */
export async function writeInstanceIfUnchanged(opts: {
  db: Db
  actor: Actor
  current: InstanceRow
  version: number
  where?: Prisma.InstanceWhereInput
  data: Prisma.InstanceUpdateManyMutationInput
  action: string
}): Promise<InstanceRow | null> {
  const { current } = opts
  return opts.db.$transaction(async (tx) => {
    // The version in the WHERE makes the check and the write one atomic step.
    const { count } = await tx.instance.updateMany({
      where: { ...opts.where, id: current.id, version: opts.version },
      data: { ...opts.data, version: { increment: 1 } },
    })
    if (count === 0) return null
    const updated = await tx.instance.findUniqueOrThrow({ where: { id: current.id }, include: INSTANCE_INCLUDE })
    await recordAudit(tx, {
      actor: opts.actor,
      action: opts.action,
      targetType: 'instance',
      targetId: updated.id,
      organizationId: updated.organizationId,
      before: auditableInstance(current),
      after: auditableInstance(updated),
    })
    return updated
  })
}
