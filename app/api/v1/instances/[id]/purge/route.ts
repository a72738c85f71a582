import { z } from 'zod'
import { defineRoute } from '@/app/api/_lib/route'
import { getResourceContext } from '@/lib/resources/get-resource-context'
import { listInstanceResources } from '@/lib/resources/list-resources'
import { requestPurge } from '@/lib/resources/purge-instance'
import { ZInstanceResources, ZPurgeInstanceQuery } from '@/lib/resources/schemas'

export const POST = defineRoute(
  {
    method: 'POST',
    path: '/api/v1/instances/{id}/purge',
    summary: "Destroy an archived instance's data now (staff; ?confirm=<slug>; after its final export); answers at once",
    tag: 'Instances',
    auth: 'staff',
    params: z.object({ id: z.string().describe('Instance id') }),
    query: ZPurgeInstanceQuery,
    response: ZInstanceResources,
    status: 202,
    errors: [403, 404, 409],
  },
  async ({ actor, params, query, ctx }) => {
    await requestPurge(await getResourceContext(), actor, params.id, query.confirm)
    return listInstanceResources(ctx.db, actor, params.id)
  },
)
