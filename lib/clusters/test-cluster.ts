import type { Actor } from '@/lib/auth/actor'
import { recordAudit } from '@/lib/audit/record-audit'
import { clusterConnection } from './cluster-connection'
import type { ClusterContext } from './create-cluster'
import { findCluster } from './list-clusters'
import { tryConnection } from './test-connection'

/** Staff test a stored cluster's connection; the result is kept on the cluster (shown in the console) and audited. */
export async function testCluster(ctx: ClusterContext, actor: Actor, id: string) {
  const current = await findCluster(ctx.db, actor, id)
  const error = await tryConnection(clusterConnection(ctx.box, current), {
    ownerTag: ctx.config.ownerTag,
    timeoutMs: ctx.config.providerTimeoutMs,
  })
  const testedAt = new Date()
  await ctx.db.$transaction(async (tx) => {
    await tx.cluster.update({ where: { id }, data: { lastTestedAt: testedAt, lastTestError: error } })
    await recordAudit(tx, {
      actor,
      action: 'cluster.connection_tested',
      targetType: 'cluster',
      targetId: id,
      organizationId: null,
      after: { ok: error === null, error },
    })
  })
  return { ok: error === null, error, testedAt: testedAt.toISOString() }
}
