import type { Orchestrator } from '@/lib/deployments/orchestrator'
import type { DesiredRouting } from '@/provisioners/types'
import { loadDesiredRouting } from './load-routing'
import { recordRoute } from './record-route'

/** Reads an instance's appservers, computes its desired routing and publishes it through the router. */
export async function publishRouting(o: Orchestrator, instanceId: string): Promise<DesiredRouting> {
  const [routing] = await loadDesiredRouting(o.db, o.config.hostingZone, [instanceId])
  if (!routing) throw new Error(`instance ${instanceId} not found`)
  await o.router.publish(routing)
  await recordRoute(o.db, routing, o.router.siteUrl(routing))
  return routing
}
