import { defineRoute } from '@/app/api/_lib/route'
import { createInstance } from '@/lib/instances/create-instance'
import { listInstances } from '@/lib/instances/list-instances'
import { getResourceContext } from '@/lib/resources/get-resource-context'
import { ZCreateInstanceRequest, ZInstance, ZInstancePage, ZListInstancesQuery } from '@/lib/instances/schemas'

export const GET = defineRoute(
  {
    method: 'GET',
    path: '/api/v1/instances',
    summary: 'List instances (search, filters, keyset pagination)',
    tag: 'Instances',
    auth: 'user',
    query: ZListInstancesQuery,
    response: ZInstancePage,
  },
  ({ actor, query, ctx }) => listInstances({ db: ctx.db, actor, hostingZone: ctx.config.hostingZone, query }),
)

export const POST = defineRoute(
  {
    method: 'POST',
    path: '/api/v1/instances',
    summary: 'Create an instance (staff)',
    tag: 'Instances',
    auth: 'staff',
    body: ZCreateInstanceRequest,
    response: ZInstance,
    status: 201,
    errors: [403, 409],
  },
  async ({ actor, body, ctx }) => {
    const rc = await getResourceContext()
    return createInstance({
      db: ctx.db,
      actor,
      hostingZone: ctx.config.hostingZone,
      input: body,
      resources: { box: rc.box, ownerTag: rc.config.ownerTag, jobs: rc.jobs },
    })
  },
)
