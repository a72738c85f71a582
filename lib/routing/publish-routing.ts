import { getBlueprint } from '@/lib/blueprints'
import type { AppserverState, DeploymentStatus } from '@/lib/db/generated/enums'
import type { Orchestrator } from '@/lib/deployments/orchestrator'
import type { DesiredRouting } from '@/provisioners/types'
import { desiredRouting } from './desired-routing'
import { recordRoute } from './record-route'

/** Reads an instance's appservers, computes its desired routing and publishes it through the router. */
export async function publishRouting(o: Orchestrator, instanceId: string): Promise<DesiredRouting> {
  const instance = await o.db.instance.findUniqueOrThrow({ where: { id: instanceId } })
  // One statement, one snapshot: two queries (appservers, then their deployments) could see an appserver still
  // healthy and its deployment already active (an activation committing in between), which routes to nothing.
  const appservers = await o.db.$queryRaw<{ id: string; state: AppserverState; address: string | null; status: DeploymentStatus }[]>`
    SELECT a.id::text AS id, a.state::text AS state, a.address, d.status::text AS status
    FROM appservers a JOIN deployments d ON d.id = a.deployment_id
    WHERE a.instance_id = ${instanceId}::uuid AND a.state IN ('healthy', 'active', 'draining')`
  const blueprint = getBlueprint(instance.blueprint)
  const routing = desiredRouting(
    {
      id: instance.id,
      slug: instance.slug,
      hostnames: blueprint.hostnames(instance, o.config.hostingZone).map((h) => h.hostname),
      healthPath: blueprint.healthPath,
      archived: instance.status === 'archived',
    },
    appservers.map((a) => ({ id: a.id, state: a.state, address: a.address, deploymentStatus: a.status })),
  )
  await o.router.publish(routing)
  await recordRoute(o.db, routing, o.router.siteUrl(routing))
  return routing
}
