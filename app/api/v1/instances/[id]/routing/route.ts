import { z } from 'zod'
import { defineRoute } from '@/app/api/_lib/route'
import { getInstanceRouting } from '@/lib/routing/get-instance-routing'
import { getRouter } from '@/lib/routing/get-router'
import { ZInstanceRouting } from '@/lib/routing/schemas'

export const GET = defineRoute(
  {
    method: 'GET',
    path: '/api/v1/instances/{id}/routing',
    summary: "Where an instance's hostnames route, as last published (backends: staff only)",
    tag: 'Routing',
    auth: 'user',
    params: z.object({ id: z.string().describe('Instance id') }),
    response: ZInstanceRouting,
    errors: [404],
  },
  ({ actor, params, ctx }) => getInstanceRouting(ctx.db, actor, getRouter().kind, ctx.config.hostingZone, params.id),
)
