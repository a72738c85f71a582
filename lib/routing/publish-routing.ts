import { getBlueprint } from '@/lib/blueprints'
import type { Orchestrator } from '@/lib/deployments/orchestrator'
import type { DesiredRouting } from '@/provisioners/types'
import { desiredRouting } from './desired-routing'

/** Reads an instance's appservers, computes its desired routing and publishes it through the router. */
export async function publishRouting(o: Orchestrator, instanceId: string): Promise<DesiredRouting> {
  const instance = await o.db.instance.findUniqueOrThrow({ where: { id: instanceId } })
  const appservers = await o.db.appserver.findMany({
    where: { instanceId, state: { in: ['healthy', 'active', 'draining'] } },
    select: { id: true, state: true, address: true, deployment: { select: { status: true, healthPath: true } } },
  })
  const blueprint = getBlueprint(instance.blueprint)
  const routing = desiredRouting(
    {
      id: instance.id,
      slug: instance.slug,
      hostnames: blueprint.hostnames(instance, o.config.hostingZone).map((h) => h.hostname),
      healthPath: blueprint.healthPath,
      archived: instance.status === 'archived',
    },
    appservers.map((a) => ({ id: a.id, state: a.state, address: a.address, deploymentStatus: a.deployment.status })),
  )
  await o.router.publish(routing)
  return routing
}
