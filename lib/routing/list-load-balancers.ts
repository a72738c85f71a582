import type { Actor } from '@/lib/auth/actor'
import { assertStaff } from '@/lib/auth/policy'
import type { LoadBalancerNode, Router } from '@/provisioners/types'
import type { TLoadBalancers } from './schemas'

/** Pure: a node's status against the latest revision and the staleness limit. */
export function nodeStatus(
  node: LoadBalancerNode,
  latest: number | null,
  now: number,
  staleMs: number,
): TLoadBalancers['nodes'][number]['status'] {
  if (now - Date.parse(node.lastSeen) > staleMs) return 'down'
  if (node.lastError && node.seenRevision > node.revision) return 'error'
  if (latest !== null && node.revision < latest) return 'behind'
  return 'in-sync'
}

/** The load-balancer nodes and how far each is behind the latest routing revision (staff only). */
export async function listLoadBalancers(router: Router, actor: Actor, staleMs: number, now = Date.now()): Promise<TLoadBalancers> {
  assertStaff(actor)
  if (!router.loadBalancers) return { router: router.kind, revision: null, publishedAt: null, nodes: [] }
  const state = await router.loadBalancers()
  return {
    router: router.kind,
    revision: state.revision,
    publishedAt: state.publishedAt,
    nodes: state.nodes.map((n) => ({
      ...n,
      status: nodeStatus(n, state.revision, now, staleMs),
      behindBy: state.revision === null ? null : Math.max(0, state.revision - n.revision),
    })),
  }
}
