import { systemActor } from '@/lib/auth/actor'
import { getDb } from '@/lib/db/client'
import { getLogger } from '@/lib/log'
import { getRouter } from '@/lib/routing/get-router'
import { listLoadBalancers } from '@/lib/routing/list-load-balancers'
import { INSTANCE_STATUSES } from '@/lib/instances/schemas'
import { jobCounts } from '@/lib/jobs/job-counts'
import { getConfig } from '@/lib/config'
import { getMetrics } from '@/lib/metrics'
import { metricsScrapeAllowed } from '@/lib/metrics/authorize'

/** Prometheus scrape endpoint. Fleet gauges are read from the database at scrape time. */
export async function GET(request: Request): Promise<Response> {
  if (!metricsScrapeAllowed(request.headers.get('authorization'), getConfig().metricsToken)) {
    return Response.json({ error: { code: 'unauthenticated', message: 'Send "Authorization: Bearer METRICS_TOKEN"' } }, { status: 401 })
  }
  const metrics = getMetrics()
  const db = getDb()
  const [byStatus, jobs, appservers, resources, clusters] = await Promise.all([
    db.instance.groupBy({ by: ['status'], _count: { _all: true } }),
    jobCounts(db),
    db.appserver.groupBy({ by: ['state', 'driver'], where: { state: { not: 'terminated' } }, _count: { _all: true } }),
    db.resource.groupBy({ by: ['kind', 'state', 'clusterId'], where: { state: { not: 'destroyed' } }, _count: { _all: true } }),
    db.cluster.findMany({ select: { id: true, name: true } }),
  ])
  const clusterNames = new Map(clusters.map((c) => [c.id, c.name]))
  metrics.resources.reset()
  for (const r of resources) {
    metrics.resources.set({ kind: r.kind, state: r.state, cluster: clusterNames.get(r.clusterId) ?? r.clusterId }, r._count._all)
  }
  metrics.appservers.reset()
  for (const a of appservers) metrics.appservers.set({ state: a.state, driver: a.driver }, a._count._all)
  metrics.instances.reset()
  for (const status of INSTANCE_STATUSES) metrics.instances.set({ status }, byStatus.find((s) => s.status === status)?._count._all ?? 0)
  metrics.jobs.reset()
  for (const j of jobs) metrics.jobs.set({ queue: j.name, state: j.state }, j.count)
  await recordLoadBalancers(metrics)
  return new Response(await metrics.registry.metrics(), {
    headers: { 'content-type': metrics.registry.contentType, 'cache-control': 'no-store' },
  })
}

/** The load-balancer nodes' reports, when there are load balancers; a Consul outage leaves the gauges empty, logged. */
async function recordLoadBalancers(metrics: ReturnType<typeof getMetrics>): Promise<void> {
  metrics.lbNodes.reset()
  metrics.lbBehind.reset()
  const router = getRouter()
  if (!router.loadBalancers) return
  try {
    const state = await listLoadBalancers(router, systemActor('metrics'), getConfig().routing.agentStaleMs)
    for (const n of state.nodes) {
      metrics.lbNodes.set({ node: n.node, status: n.status }, 1)
      if (n.behindBy !== null) metrics.lbBehind.set({ node: n.node }, n.behindBy)
    }
  } catch (err) {
    getLogger().warn({ err }, 'metrics: could not read the load balancers from Consul')
  }
}
