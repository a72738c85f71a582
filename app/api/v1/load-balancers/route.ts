import { defineRoute } from '@/app/api/_lib/route'
import { getRouter } from '@/lib/routing/get-router'
import { listLoadBalancers } from '@/lib/routing/list-load-balancers'
import { ZLoadBalancers } from '@/lib/routing/schemas'

export const GET = defineRoute(
  {
    method: 'GET',
    path: '/api/v1/load-balancers',
    summary: 'The load-balancer nodes: applied routing revision, how far behind, last error, last seen (staff)',
    tag: 'Routing',
    auth: 'staff',
    response: ZLoadBalancers,
    errors: [403],
  },
  ({ actor, ctx }) => listLoadBalancers(getRouter(), actor, ctx.config.routing.agentStaleMs),
)
