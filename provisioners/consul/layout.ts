import { z } from 'zod'

/**
 * The routing state in Consul's KV store: what the control plane writes and every load-balancer agent reads.
 * One `/v1/txn` transaction writes an instance's key together with a new revision, so an agent never sees half
 * a change; agents report back under `lb/nodes/`. Documented in provisioners/consul/README.md.
 *
 *   <prefix>/routing/revision              {"revision": 42, "publishedAt": "…"}   increases with every change
 *   <prefix>/routing/instances/<id>        RoutedInstance (JSON)
 *   <prefix>/routing/certificates/<id>     RoutedCertificate (JSON; the key encrypted for the agents)
 *   <prefix>/routing/challenges/<token>    RoutedChallenge (JSON): an HTTP-01 answer the agents serve
 *   <prefix>/lb/nodes/<node>               AgentReport (JSON), written by each agent
 */
export const DEFAULT_PREFIX = 'tenon'

export function consulKeys(prefix: string) {
  return {
    routing: `${prefix}/routing/`,
    revision: `${prefix}/routing/revision`,
    instances: `${prefix}/routing/instances/`,
    instance: (instanceId: string) => `${prefix}/routing/instances/${instanceId}`,
    certificates: `${prefix}/routing/certificates/`,
    certificate: (id: string) => `${prefix}/routing/certificates/${id}`,
    challenges: `${prefix}/routing/challenges/`,
    challenge: (token: string) => `${prefix}/routing/challenges/${token}`,
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
  /** which certificate (an id under routing/certificates/) serves which of the hostnames, by SNI */
  certificates: z.array(z.object({ id: z.string().min(1), hostnames: z.array(z.string().min(1)).min(1) })).default([]),
})
export type RoutedInstance = z.infer<typeof ZRoutedInstance>

/** A certificate file's name on the agents is `<id>.pem`: ids are UUIDs or other plain words. */
export const CERTIFICATE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/

export const ZRoutedCertificate = z.object({
  id: z.string().regex(CERTIFICATE_ID),
  /** the revision that last changed this certificate */
  revision: z.number().int().min(1),
  /** PEM: the leaf first, then the chain */
  certificate: z.string().min(1),
  /** the private key (PEM) encrypted with LB_CERTIFICATE_KEYS (lib/secrets format: "v1.<keyId>.…") */
  keyCiphertext: z.string().min(1),
  /** SHA-256 of the leaf (DER), lower-case hex */
  fingerprint: z.string().regex(/^[0-9a-f]{64}$/),
  notAfter: z.iso.datetime(),
})
export type RoutedCertificate = z.infer<typeof ZRoutedCertificate>

/** RFC 8555 tokens are base64url; the agents look the answer up by the request path. */
export const ZRoutedChallenge = z.object({
  token: z.string().regex(/^[A-Za-z0-9_-]{16,128}$/),
  revision: z.number().int().min(1),
  keyAuthorization: z.string().regex(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/),
  hostname: z.string().min(1),
  expiresAt: z.iso.datetime(),
})
export type RoutedChallenge = z.infer<typeof ZRoutedChallenge>

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
  /** the addresses clients reach this node at (LB_PUBLIC_ADDRESSES): DNS records of the hosting zone point here */
  publicAddresses: z.array(z.string()).default([]),
})
export type AgentReport = z.infer<typeof ZAgentReport>

/** The whole routing state as an agent reads it at one Consul index. */
export interface RoutingState {
  revision: number
  publishedAt: string | null
  instances: RoutedInstance[]
  /** certificates referenced by instances (and possibly some not referenced yet) */
  certificates: RoutedCertificate[]
  challenges: RoutedChallenge[]
}

/** "http://10.0.0.5:8080" → { host, port } (an appserver's address as the database keeps it). */
export function hostPort(address: string): { host: string; port: number } {
  const url = new URL(address)
  const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80
  return { host: url.hostname.replace(/^\[|\]$/g, ''), port }
}
