import { z } from 'zod'

export const ZLoadBalancerNode = z
  .object({
    node: z.string(),
    status: z.enum(['in-sync', 'behind', 'error', 'down']).describe('down: silent for LB_AGENT_STALE_SECONDS'),
    revision: z.number().int().describe('The last revision it applied'),
    behindBy: z.number().int().nullable().describe('Revisions it has not applied yet'),
    seenRevision: z.number().int(),
    appliedAt: z.iso.datetime().nullable(),
    lagMs: z.number().nullable().describe('From publication to applied, for its last change'),
    method: z.enum(['runtime', 'reload', 'none']),
    lastError: z.string().nullable(),
    lastErrorAt: z.iso.datetime().nullable(),
    lastSeen: z.iso.datetime(),
  })
  .meta({ id: 'LoadBalancerNode' })

export const ZLoadBalancers = z
  .object({
    router: z.enum(['direct', 'consul']),
    revision: z.number().int().nullable().describe('The latest routing revision published'),
    publishedAt: z.iso.datetime().nullable(),
    nodes: z.array(ZLoadBalancerNode),
  })
  .meta({ id: 'LoadBalancers' })
export type TLoadBalancers = z.infer<typeof ZLoadBalancers>

export const ZInstanceRouting = z
  .object({
    router: z.enum(['direct', 'consul']),
    hostnames: z.array(z.string()),
    maintenance: z.boolean().describe('No appserver takes traffic: the load balancers show the maintenance page'),
    siteUrl: z.string().nullable(),
    backends: z
      .array(z.object({ appserverId: z.uuid(), address: z.string(), role: z.enum(['active', 'draining']) }))
      .nullable()
      .describe('Staff only (null for clients)'),
    revision: z.number().int().nullable().describe('Times this instance’s routing was published'),
    updatedAt: z.iso.datetime().nullable(),
  })
  .meta({ id: 'InstanceRouting' })
export type TInstanceRouting = z.infer<typeof ZInstanceRouting>
