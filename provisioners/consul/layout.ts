import { z } from 'zod'

/**
 * The routing state in Consul's KV store: what the control plane writes and every load-balancer agent reads.
 * One `/v1/txn` transaction writes an instance's key together with a new revision, so an agent never sees half
 * a change; agents report back under `lb/nodes/`. Documented in provisioners/consul/README.md.
 *
 *   <prefix>/routing/revision              {"revision": 42, "publishedAt": "…"}   increases with every change
 *   <prefix>/routing/instances/<id>        RoutedInstance (JSON)
 *   <prefix>/lb/nodes/<node>               AgentReport (JSON), written by each agent
 */
export const DEFAULT_PREFIX = 'tenon'

export function consulKeys(prefix: string) {
  return {
    routing: `${prefix}/routing/`,
    revision: `${prefix}/routing/revision`,
    instances: `${prefix}/routing/instances/`,
    instance: (instanceId: string) => `${prefix}/routing/instances/${instanceId}`,
    agents: `${prefix}/lb/nodes/`,
    agent: (node: string) => `${prefix}/lb/nodes/${node}`,
  }
}

export const ZRoutedBackend = z.object({
  appserverId: z.string().min(1),
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535),
  /** active: takes new requests; draining: finishes what it has, gets nothing new */
  role: z.enum(['active', 'draining']),
})
export type RoutedBackend = z.infer<typeof ZRoutedBackend>

export const ZRoutedInstance = z.object({
  instanceId: z.string().min(1),
  slug: z.string().min(1),
  /** the revision that last changed this instance */
  revision: z.number().int().min(1),
  hostnames: z.array(z.string().min(1)),
  backends: z.array(ZRoutedBackend),
  healthPath: z.string().startsWith('/'),
  /** no active backend: the load balancer answers with the maintenance page */
  maintenance: z.boolean(),
  /** certificate references for the hostnames (filled in by [domains-tls]; empty until then) */
  certificates: z.array(z.string()).default([]),
})
export type RoutedInstance = z.infer<typeof ZRoutedInstance>

export const ZRoutingRevision = z.object({ revision: z.number().int().min(0), publishedAt: z.iso.datetime() })
export type RoutingRevision = z.infer<typeof ZRoutingRevision>

export const ZAgentReport = z.object({
  node: z.string().min(1),
  /** the last revision this node applied (0: none yet) */
  revision: z.number().int().min(0),
  appliedAt: z.iso.datetime().nullable(),
  /** publishedAt of that revision → appliedAt, in milliseconds */
  lagMs: z.number().nullable(),
  /** how the last change was applied */
  method: z.enum(['runtime', 'reload', 'none']),
  lastError: z.string().nullable(),
  lastErrorAt: z.iso.datetime().nullable(),
  /** when the agent last wrote this report (it does so at least every heartbeat) */
  lastSeen: z.iso.datetime(),
  /** the revision the agent has read from Consul, applied or not */
  seenRevision: z.number().int().min(0),
})
export type AgentReport = z.infer<typeof ZAgentReport>

/** The whole routing state as an agent reads it at one Consul index. */
export interface RoutingState {
  revision: number
  publishedAt: string | null
  instances: RoutedInstance[]
}

/** "http://10.0.0.5:8080" → { host, port } (an appserver's address as the database keeps it). */
export function hostPort(address: string): { host: string; port: number } {
  const url = new URL(address)
  const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80
  return { host: url.hostname.replace(/^\[|\]$/g, ''), port }
}
