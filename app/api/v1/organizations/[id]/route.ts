import { z } from 'zod'
import { defineRoute } from '@/app/api/_lib/route'
import { getOrganization } from '@/lib/organizations/list-organizations'
import { ZOrganization } from '@/lib/organizations/schemas'

export const GET = defineRoute(
  {
    method: 'GET',
    path: '/api/v1/organizations/{id}',
    summary: 'Read an organization',
    tag: 'Organizations',
    auth: 'user',
    params: z.object({ id: z.string() }),
    response: ZOrganization,
    errors: [404],
  },
  ({ actor, params, ctx }) => getOrganization({ db: ctx.db, actor, id: params.id }),
)
