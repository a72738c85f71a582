import type { Orchestrator } from '@/lib/deployments/orchestrator'
import type { RoutingDriftReport } from '@/provisioners/types'
import { loadDesiredRouting } from './load-routing'

/**
 * The routing reconciler (every minute): compares what the router keeps outside (Consul) with the desired routing of
 * every routed instance and repairs drift — stale keys of archived instances, entries changed or deleted by hand,
 * missing services. Nothing to do for the direct router. Writes do not wait for the load balancers: they follow.
 */
export async function reconcileRouting(o: Orchestrator): Promise<RoutingDriftReport | { skipped: string }> {
  if (!o.router.reconcile) return { skipped: `the ${o.router.kind} router keeps no state outside` }
  const desired = await loadDesiredRouting(o.db, o.config.hostingZone)
  const report = await o.router.reconcile(desired)
  if (report.written.length || report.removed.length || report.services) o.log.info({ ...report }, 'routing drift repaired')
  return report
}
