import type { Actor } from '@/lib/auth/actor'
import { isStaff } from '@/lib/auth/policy'
import type { Db } from '@/lib/db/client'
import { findReadableInstance } from '@/lib/instances/get-instance'
import { neededKinds } from './place-resources'
import type { TInstanceResources } from './schemas'
import { RESOURCE_WITH_CLUSTER, toResource } from './to-resource'

/** An instance's resources, what is missing and why, its retention dates and (staff) its final exports. */
export async function listInstanceResources(db: Db, actor: Actor, instanceId: string): Promise<TInstanceResources> {
  const instance = await findReadableInstance(db, actor, instanceId)
  const staff = isStaff(actor)
  const [rows, clusters, exports] = await Promise.all([
    db.resource.findMany({ where: { instanceId }, include: RESOURCE_WITH_CLUSTER, orderBy: [{ kind: 'asc' }, { createdAt: 'desc' }] }),
    db.cluster.groupBy({ by: ['kind'], where: { acceptsNew: true } }),
    staff ? db.instanceExport.findMany({ where: { instanceId }, orderBy: { createdAt: 'desc' }, take: 20 }) : Promise.resolve([]),
  ])
  const live = rows.filter((r) => r.state !== 'destroyed')
  const liveKinds = new Set(live.map((r) => r.kind))
  const withCluster = new Set(clusters.map((c) => c.kind))
  const absent = neededKinds(instance.blueprint).filter((k) => !liveKinds.has(k))
  return {
    instanceId,
    status: instance.status,
    resources: [...live, ...rows.filter((r) => r.state === 'destroyed')].map((r) => toResource(r, actor)),
    notConfigured: absent.filter((k) => !withCluster.has(k)),
    missing: instance.purgedAt ? [] : absent.filter((k) => withCluster.has(k)),
    purgeAfter: instance.purgeAfter?.toISOString() ?? null,
    purgedAt: instance.purgedAt?.toISOString() ?? null,
    exports: exports.map((e) => ({
      id: e.id,
      state: e.state,
      location: e.location,
      databases: e.databases,
      bytes: e.bytes === null ? null : Number(e.bytes),
      sha256: e.sha256,
      error: e.error,
      createdAt: e.createdAt.toISOString(),
      finishedAt: e.finishedAt?.toISOString() ?? null,
    })),
  }
}
