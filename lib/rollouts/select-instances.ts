import type { Db } from '@/lib/db/client'
import type { Prisma } from '@/lib/db/generated/client'
import type { TRolloutSelection } from './schemas'

/** The instances a selection names, oldest first (the order the rollout goes through them). */
export async function selectInstances(db: Db, selection: TRolloutSelection, now: Date): Promise<string[]> {
  const where: Prisma.InstanceWhereInput = { status: { not: 'archived' } }
  if (selection.organizationId) where.organizationId = selection.organizationId
  if (selection.instanceIds) where.id = { in: selection.instanceIds }
  if (selection.release) where.settings = { path: ['release'], equals: selection.release }
  if (selection.olderThanDays !== undefined) {
    const cutoff = new Date(now.getTime() - selection.olderThanDays * 86_400_000)
    // no active deployment younger than the cutoff
    where.deployments = { none: { status: 'active', activatedAt: { gt: cutoff } } }
  }
  const rows = await db.instance.findMany({ where, select: { id: true }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] })
  return rows.map((r) => r.id)
}
