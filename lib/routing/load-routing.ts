import { getBlueprint } from '@/lib/blueprints'
import type { Db } from '@/lib/db/client'
import type { AppserverState, Blueprint, DeploymentStatus, InstanceStatus } from '@/lib/db/generated/enums'
import type { DesiredRouting } from '@/provisioners/types'
import { certificateRefs, scopeOf, type ServedCertificate } from '@/lib/certificates/certificate-refs'
import { desiredRouting, type RoutingAppserver } from './desired-routing'

interface RoutedRow {
  instance_id: string
  id: string
  state: AppserverState
  address: string | null
  status: DeploymentStatus
}

/**
 * The desired routing of the given instances (or of every instance that is routed: not archived and with an
 * appserver taking or draining traffic, or published before). One statement reads all the appservers, so an
 * activation committing meanwhile cannot be seen half done (an appserver still healthy, its deployment already
 * active), which would route to nothing.
 */
export async function loadDesiredRouting(db: Db, hostingZone: string, instanceIds?: readonly string[]): Promise<DesiredRouting[]> {
  const ids = instanceIds ? [...instanceIds] : null
  const instances = await db.$queryRaw<{ id: string; slug: string; blueprint: Blueprint; status: InstanceStatus }[]>`
    SELECT i.id::text AS id, i.slug, i.blueprint::text AS blueprint, i.status::text AS status
    FROM instances i
    WHERE CASE WHEN ${ids}::uuid[] IS NULL
      THEN i.status <> 'archived' AND (
        EXISTS (SELECT 1 FROM appservers a WHERE a.instance_id = i.id AND a.state IN ('healthy', 'active', 'draining'))
        OR EXISTS (SELECT 1 FROM instance_routes r WHERE r.instance_id = i.id))
      ELSE i.id = ANY(${ids}::uuid[]) END
    ORDER BY i.id`
  const rows = await db.$queryRaw<RoutedRow[]>`
    SELECT a.instance_id::text AS instance_id, a.id::text AS id, a.state::text AS state, a.address, d.status::text AS status
    FROM appservers a JOIN deployments d ON d.id = a.deployment_id
    WHERE a.state IN ('healthy', 'active', 'draining') AND (${ids}::uuid[] IS NULL OR a.instance_id = ANY(${ids}::uuid[]))`
  const domains = await db.domain.findMany({
    where: { state: 'verified', ...(ids ? { instanceId: { in: ids } } : {}) },
    select: { instanceId: true, hostname: true },
  })
  // Only certificates the load balancers were given: an instance must never name one they do not hold.
  const certificates = await db.certificate.findMany({
    where: { state: { in: ['valid', 'renewing'] }, deliveredFingerprint: { not: null }, notAfter: { not: null } },
    select: { id: true, hostnames: true, instanceId: true, domainId: true, notAfter: true },
  })
  const served = certificates.map((c) => ({
    ...c,
    served: { id: c.id, hostnames: c.hostnames, scope: scopeOf(c), notAfter: c.notAfter ?? new Date(0) } satisfies ServedCertificate,
  }))
  const customByInstance = new Map<string, string[]>()
  for (const d of domains) customByInstance.set(d.instanceId, [...(customByInstance.get(d.instanceId) ?? []), d.hostname])
  const byInstance = new Map<string, RoutingAppserver[]>()
  for (const r of rows) {
    const list = byInstance.get(r.instance_id) ?? []
    list.push({ id: r.id, state: r.state, address: r.address, deploymentStatus: r.status })
    byInstance.set(r.instance_id, list)
  }
  return instances.map((i) => {
    const blueprint = getBlueprint(i.blueprint)
    const hostnames = [...blueprint.hostnames(i, hostingZone).map((h) => h.hostname), ...(customByInstance.get(i.id) ?? []).sort()]
    // The zone's certificate serves every instance; the others only their own instance.
    const usable = served.filter((c) => c.instanceId === null || c.instanceId === i.id).map((c) => c.served)
    return desiredRouting(
      {
        id: i.id,
        slug: i.slug,
        hostnames,
        healthPath: blueprint.healthPath,
        archived: i.status === 'archived',
        certificates: certificateRefs(hostnames, usable),
      },
      byInstance.get(i.id) ?? [],
    )
  })
}
