import type { Actor } from '@/lib/auth/actor'
import { recordAudit } from '@/lib/audit/record-audit'
import { isUniqueViolation } from '@/lib/db/errors'
import type { Prisma } from '@/lib/db/generated/client'
import { conflict, invalidInput, type FieldError } from '@/lib/errors'
import { clusterConnection } from './cluster-connection'
import { sendEnsureJobs } from '@/lib/resources/provision-resources'
import { sealJson } from '@/lib/secrets'
import { parseConnection, splitSecrets } from './cluster-settings'
import type { ClusterContext } from './create-cluster'
import { findCluster } from './list-clusters'
import type { TCluster, TUpdateClusterRequest } from './schemas'
import { tryConnection } from './test-connection'
import { toCluster } from './to-cluster'

/**
 * Staff change a cluster's name, placement or connection. Connection fields are merged over the stored ones (a
 * secret left out keeps its stored value, so the console never needs to show it), checked by the kind's schema
 * and by a connection test. Resources already placed stay where they are; when the settings change they are ensured
 * again (their credentials carry the address).
 */
export async function updateCluster(ctx: ClusterContext, actor: Actor, id: string, input: TUpdateClusterRequest): Promise<TCluster> {
  const current = await findCluster(ctx.db, actor, id)
  let next: { settings: Record<string, unknown>; secrets: Record<string, unknown> } | undefined
  if (input.connection) {
    const merged: Record<string, unknown> = { ...clusterConnection(ctx.box, current).connection, ...input.connection }
    // null clears a stored optional value (an S3 endpoint, a replica set); a required one is then reported missing.
    for (const [key, value] of Object.entries(input.connection)) if (value === null) delete merged[key]
    const parsed = parseConnection(current.kind, merged)
    if (!parsed.ok) {
      throw invalidInput(
        parsed.issues.map((i): FieldError => ({ field: ['connection', ...i.path.map(String)].join('.'), message: i.message })),
      )
    }
    const { cluster } = parsed
    if (input.testConnection) {
      const problem = await tryConnection(cluster, { ownerTag: ctx.config.ownerTag, timeoutMs: ctx.config.providerTimeoutMs })
      if (problem) throw invalidInput([{ field: 'connection', message: problem }], `The connection test failed: ${problem}`)
    }
    next = splitSecrets(current.kind, cluster.connection)
  }
  let rechecked: string[] = []
  try {
    const row = await ctx.db.$transaction(async (tx) => {
      const updated = await tx.cluster.updateMany({
        where: { id, version: input.version },
        data: {
          ...(input.name !== undefined ? { name: input.name } : {}),
          ...(input.acceptsNew !== undefined ? { acceptsNew: input.acceptsNew } : {}),
          ...(next
            ? {
                settings: next.settings as Prisma.InputJsonValue,
                secrets: sealJson(ctx.box, next.secrets),
                ...(input.testConnection ? { lastTestedAt: new Date(), lastTestError: null } : {}),
              }
            : {}),
          version: { increment: 1 },
        },
      })
      if (!updated.count) throw conflict('The cluster changed since you read it; reload and try again', toCluster(current, 0))
      const after = await tx.cluster.findUniqueOrThrow({ where: { id } })
      // The instances' credentials carry the cluster's address: when the settings change, every ready resource on it
      // is ensured again, which corrects its objects and stores credentials with the new address (then redeploy).
      const settingsChanged = JSON.stringify(after.settings) !== JSON.stringify(current.settings)
      const recheck = settingsChanged
        ? (await tx.resource.findMany({ where: { clusterId: id, state: 'ready' }, select: { id: true } })).map((r) => r.id)
        : []
      if (recheck.length) {
        await tx.resource.updateMany({
          where: { id: { in: recheck } },
          data: { state: 'provisioning', attempts: 0, nextAttemptAt: new Date() },
        })
      }
      rechecked = recheck
      await recordAudit(tx, {
        actor,
        action: 'cluster.updated',
        targetType: 'cluster',
        targetId: id,
        organizationId: null,
        before: { name: current.name, acceptsNew: current.acceptsNew, connection: current.settings },
        after: {
          name: after.name,
          acceptsNew: after.acceptsNew,
          connection: after.settings,
          ...(next ? { secretsReplaced: Object.keys(input.connection ?? {}).some((k) => k in next.secrets) } : {}),
          ...(recheck.length ? { resourcesRechecked: recheck.length } : {}),
        },
      })
      return after
    })
    await sendEnsureJobs(ctx.jobs, rechecked)
    const load = await ctx.db.resource.count({ where: { clusterId: id, state: { not: 'destroyed' } } })
    return toCluster(row, load)
  } catch (err) {
    if (isUniqueViolation(err, 'name')) {
      throw conflict(`A ${current.kind} cluster named "${input.name}" already exists`, undefined, [
        { field: 'name', message: 'is already taken' },
      ])
    }
    throw err
  }
}
