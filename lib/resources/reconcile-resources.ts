import { systemActor } from '@/lib/auth/actor'
import { recordAudit } from '@/lib/audit/record-audit'
import { QUEUES } from '@/lib/jobs/queues'
import { knownObjectKeys, orphanNames, planOrphans } from './plan-orphans'
import type { ResourceContext } from './resource-context'
import { toFailure } from './resource-failure'
import { namesOf } from './resource-lock'

/** Work younger than this is left to the job that is doing it. */
const OVERDUE_MS = 60_000

export interface ResourceReconcileReport {
  ensures: number
  destroys: number
  rotations: number
  exports: number
  purges: number
  orphansRemoved: number
  clusterErrors: number
}

/**
 * Repairs drift between the database and the clusters: re-sends resource work whose job was lost (a crash
 * between a commit and a send, a queue that gave up), starts the export and purge of archived instances when
 * they are due, and removes objects that carry this installation's owner tag but belong to no live resource
 * (each removal audited). Idempotent; every action it takes is itself idempotent.
 */
export async function reconcileResources(ctx: ResourceContext): Promise<ResourceReconcileReport> {
  const now = ctx.now()
  const overdue = new Date(now.getTime() - OVERDUE_MS)
  const report: ResourceReconcileReport = {
    ensures: 0,
    destroys: 0,
    rotations: 0,
    exports: 0,
    purges: 0,
    orphansRemoved: 0,
    clusterErrors: 0,
  }

  const stalled = await ctx.db.resource.findMany({
    where: {
      updatedAt: { lt: overdue },
      OR: [
        { state: 'provisioning', OR: [{ nextAttemptAt: null }, { nextAttemptAt: { lt: overdue } }] },
        { state: 'destroying' },
        { state: 'ready', pendingPassword: { not: null } },
      ],
    },
    select: { id: true, state: true },
  })
  for (const r of stalled) {
    if (r.state === 'provisioning') {
      await ctx.jobs.send(QUEUES.ensureResource.name, { resourceId: r.id })
      report.ensures++
    } else if (r.state === 'destroying') {
      await ctx.jobs.send(QUEUES.destroyResource.name, { resourceId: r.id })
      report.destroys++
    } else {
      await ctx.jobs.send(QUEUES.rotateResource.name, { resourceId: r.id })
      report.rotations++
    }
  }

  const archived = await ctx.db.instance.findMany({
    where: { status: 'archived', purgedAt: null, archivedAt: { lt: overdue } },
    select: { id: true, purgeAfter: true },
  })
  for (const i of archived) {
    if (!i.purgeAfter) {
      await ctx.jobs.send(QUEUES.exportInstance.name, { instanceId: i.id })
      report.exports++
    } else if (i.purgeAfter <= now) {
      await ctx.jobs.send(QUEUES.purgeInstance.name, { instanceId: i.id })
      report.purges++
    }
  }

  for (const cluster of await ctx.db.cluster.findMany()) {
    try {
      const provisioner = ctx.provisioner(cluster)
      const found = await provisioner.list()
      // Read after listing (see planOrphans), and across every cluster of the kind: one AWS account's IAM users are
      // listed by each S3 cluster on it, and one server may be registered twice.
      const live = await ctx.db.resource.findMany({ where: { kind: cluster.kind, state: { not: 'destroyed' } }, select: { names: true } })
      const orphans = planOrphans(found, knownObjectKeys(live.map(namesOf)))
      for (const orphan of orphans) {
        await provisioner.destroy(orphanNames(orphan))
        await ctx.db.$transaction((tx) =>
          recordAudit(tx, {
            actor: systemActor('reconciler'),
            action: 'cluster.orphan_removed',
            targetType: 'cluster',
            targetId: cluster.id,
            organizationId: null,
            after: { kind: cluster.kind, type: orphan.type, name: orphan.name },
          }),
        )
        report.orphansRemoved++
      }
    } catch (err) {
      report.clusterErrors++
      ctx.log.warn({ clusterId: cluster.id, cluster: cluster.name, error: toFailure(err).message }, 'reconciling a cluster failed')
    }
  }
  return report
}
