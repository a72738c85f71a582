import { z } from 'zod'
import { defineRoute } from '@/app/api/_lib/route'
import { getAppserver } from '@/lib/appservers/get-appserver'
import { ZAppserverDetail } from '@/lib/deployments/schemas'

export const GET = defineRoute(
  {
    method: 'GET',
    path: '/api/v1/appservers/{id}',
    summary: 'Read an appserver: state, and for staff its address and frozen configuration (secrets masked)',
    tag: 'Deployments',
    auth: 'user',
    params: z.object({ id: z.string().describe('Appserver id') }),
    response: ZAppserverDetail.extend({ instance: z.object({ slug: z.string(), name: z.string() }), secretKeys: z.array(z.string()) }),
    errors: [404],
  },
  ({ actor, params, ctx }) => getAppserver(ctx.db, actor, params.id),
)
