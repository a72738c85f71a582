import type { Actor } from '@/lib/auth/actor'
import { recordAudit } from '@/lib/audit/record-audit'
import { conflict } from '@/lib/errors'
import type { ClusterContext } from './create-cluster'
import { findCluster } from './list-clusters'

/** Staff remove a cluster that holds no live resources (its destroyed resources keep their history). */
export async function deleteCluster(ctx: Pick<ClusterContext, 'db'>, actor: Actor, id: string): Promise<void> {
  const current = await findCluster(ctx.db, actor, id)
  await ctx.db.$transaction(async (tx) => {
    const live = await tx.resource.count({ where: { clusterId: id, state: { not: 'destroyed' } } })
    if (live) {
      throw conflict(
        `${live} resource${live === 1 ? '' : 's'} still live on this cluster; stop placing new instances on it and archive or move those instances first`,
      )
    }
    const history = await tx.resource.count({ where: { clusterId: id } })
    if (history) {
      // Destroyed resources still name it; keep the row, take it out of placement, and say so.
      throw conflict('This cluster is referenced by destroyed resources kept as history; set it to not accept new instances instead')
    }
    await tx.cluster.delete({ where: { id } })
    await recordAudit(tx, {
      actor,
      action: 'cluster.deleted',
      targetType: 'cluster',
      targetId: id,
      organizationId: null,
      before: { kind: current.kind, name: current.name, connection: current.settings },
    })
  })
}
