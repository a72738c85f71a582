import { z } from 'zod'
import { defineRoute } from '@/app/api/_lib/route'
import { getResourceContext } from '@/lib/resources/get-resource-context'
import { listInstanceResources } from '@/lib/resources/list-resources'
import { provisionResources } from '@/lib/resources/provision-resources'
import { ZInstanceResources } from '@/lib/resources/schemas'

const ZParams = z.object({ id: z.string().describe('Instance id') })

export const GET = defineRoute(
  {
    method: 'GET',
    path: '/api/v1/instances/{id}/resources',
    summary: "An instance's databases, vhost and bucket: state, cluster and names (staff), retention, final exports (staff)",
    tag: 'Resources',
    auth: 'user',
    params: ZParams,
    response: ZInstanceResources,
    errors: [404],
  },
  ({ actor, params, ctx }) => listInstanceResources(ctx.db, actor, params.id),
)

export const POST = defineRoute(
  {
    method: 'POST',
    path: '/api/v1/instances/{id}/resources',
    summary: "Provision the resources the instance's blueprint needs and it does not have yet (staff); answers at once",
    tag: 'Resources',
    auth: 'staff',
    params: ZParams,
    response: ZInstanceResources,
    status: 202,
    errors: [403, 404, 409],
  },
  async ({ actor, params, ctx }) => {
    await provisionResources(await getResourceContext(), actor, params.id)
    return listInstanceResources(ctx.db, actor, params.id)
  },
)
