import client from 'prom-client'

/**
 * Prometheus metrics of this process. prom-client keeps one default registry per process; the
 * globalThis guard stops a second module evaluation (Next.js route bundles) registering twice.
 */
interface Metrics {
  registry: client.Registry
  httpDuration: client.Histogram<'method' | 'route' | 'status'>
  jobs: client.Gauge<'queue' | 'state'>
  instances: client.Gauge<'status'>
  appservers: client.Gauge<'state' | 'driver'>
  resources: client.Gauge<'kind' | 'state' | 'cluster'>
  lbNodes: client.Gauge<'node' | 'status'>
  lbBehind: client.Gauge<'node'>
}

const g = globalThis as unknown as { tenonMetrics?: Metrics }

export function getMetrics(): Metrics {
  if (!g.tenonMetrics) {
    const registry = new client.Registry()
    client.collectDefaultMetrics({ register: registry, prefix: 'tenon_' })
    g.tenonMetrics = {
      registry,
      httpDuration: new client.Histogram({
        name: 'tenon_http_request_duration_seconds',
        help: 'API request latency by route template and status',
        labelNames: ['method', 'route', 'status'],
        buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
        registers: [registry],
      }),
      jobs: new client.Gauge({
        name: 'tenon_jobs',
        help: 'Jobs in the queue by queue name and state',
        labelNames: ['queue', 'state'],
        registers: [registry],
      }),
      instances: new client.Gauge({ name: 'tenon_instances', help: 'Instances by status', labelNames: ['status'], registers: [registry] }),
      appservers: new client.Gauge({
        name: 'tenon_appservers',
        help: 'Appservers not yet terminated, by state and driver',
        labelNames: ['state', 'driver'],
        registers: [registry],
      }),
      resources: new client.Gauge({
        name: 'tenon_resources',
        help: 'Resources not yet destroyed, by kind, state and cluster (failed ones need a person)',
        labelNames: ['kind', 'state', 'cluster'],
        registers: [registry],
      }),
      lbNodes: new client.Gauge({
        name: 'tenon_lb_nodes',
        help: 'Load-balancer nodes by status (in-sync, behind, error, down), from their reports in Consul',
        labelNames: ['node', 'status'],
        registers: [registry],
      }),
      lbBehind: new client.Gauge({
        name: 'tenon_lb_node_revisions_behind',
        help: 'Routing revisions a load-balancer node has not applied yet',
        labelNames: ['node'],
        registers: [registry],
      }),
    }
  }
  return g.tenonMetrics
}
