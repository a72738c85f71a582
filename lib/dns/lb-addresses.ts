import type { DomainContext } from '@/lib/domains/domain-context'
import { checkAddresses } from './plan-records'

export class NoLoadBalancerAddressesError extends Error {
  constructor() {
    super('no load-balancer addresses are known: set DNS_LB_ADDRESSES, or LB_PUBLIC_ADDRESSES on each load-balancer agent')
    this.name = 'NoLoadBalancerAddressesError'
  }
}

/**
 * The addresses the hosting zone's records point at: DNS_LB_ADDRESSES when set, else every address the load-balancer
 * agents report (a node that is down for a moment keeps its place: removing a node from DNS is the operator's call,
 * made by forgetting it on the Load balancers page).
 */
export async function loadBalancerAddresses(ctx: Pick<DomainContext, 'config' | 'router'>): Promise<string[]> {
  const configured = ctx.config.dns?.lbAddresses
  if (configured?.length) return checkAddresses(configured)
  const state = ctx.router.loadBalancers ? await ctx.router.loadBalancers() : undefined
  const reported = [...new Set((state?.nodes ?? []).flatMap((n) => n.publicAddresses))].sort()
  if (!reported.length) throw new NoLoadBalancerAddressesError()
  return checkAddresses(reported)
}
