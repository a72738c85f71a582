import { getDb } from '@/lib/db/client'
import { INSTANCE_STATUSES } from '@/lib/instances/schemas'
import { jobCounts } from '@/lib/jobs/queue'
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
  const [byStatus, jobs] = await Promise.all([db.instance.groupBy({ by: ['status'], _count: { _all: true } }), jobCounts(db)])
  metrics.instances.reset()
  for (const status of INSTANCE_STATUSES) metrics.instances.set({ status }, byStatus.find((s) => s.status === status)?._count._all ?? 0)
  metrics.jobs.reset()
  for (const j of jobs) metrics.jobs.set({ queue: j.name, state: j.state }, j.count)
  return new Response(await metrics.registry.metrics(), {
    headers: { 'content-type': metrics.registry.contentType, 'cache-control': 'no-store' },
  })
}
