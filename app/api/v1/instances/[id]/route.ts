import { z } from 'zod'
import { defineRoute } from '@/app/api/_lib/route'
import { getDeployContext } from '@/lib/deployments/deploy-context'
import { archiveInstance } from '@/lib/instances/archive-instance'
import { QUEUES } from '@/lib/jobs/queues'
import { findReadableInstance } from '@/lib/instances/get-instance'
import { ZArchiveInstanceQuery, ZInstance, ZUpdateInstanceRequest } from '@/lib/instances/schemas'
import { toInstance } from '@/lib/instances/to-instance'
import { updateInstance } from '@/lib/instances/update-instance'

const ZParams = z.object({ id: z.string().describe('Instance id') })

export const GET = defineRoute(
  {
    method: 'GET',
    path: '/api/v1/instances/{id}',
    summary: 'Read an instance',
    tag: 'Instances',
    auth: 'user',
    params: ZParams,
    response: ZInstance,
    errors: [404],
  },
  async ({ actor, params, ctx }) => toInstance(await findReadableInstance(ctx.db, actor, params.id), ctx.config.hostingZone),
)

export const PATCH = defineRoute(
  {
    method: 'PATCH',
    path: '/api/v1/instances/{id}',
    summary: 'Update an instance (staff; optimistic concurrency)',
    tag: 'Instances',
    auth: 'user',
    params: ZParams,
    body: ZUpdateInstanceRequest,
    response: ZInstance,
    errors: [403, 404, 409],
  },
  ({ actor, params, body, ctx }) => updateInstance({ db: ctx.db, actor, hostingZone: ctx.config.hostingZone, id: params.id, input: body }),
)

export const DELETE = defineRoute(
  {
    method: 'DELETE',
    path: '/api/v1/instances/{id}',
    summary:
      'Archive an instance (staff; ?confirm=<slug>): appservers stop, a final export is taken, data is kept until the retention period ends',
    tag: 'Instances',
    auth: 'user',
    params: ZParams,
    query: ZArchiveInstanceQuery,
    response: ZInstance,
    errors: [403, 404, 409],
  },
  async ({ actor, params, query, ctx }) => {
    const archived = await archiveInstance({
      db: ctx.db,
      actor,
      hostingZone: ctx.config.hostingZone,
      id: params.id,
      confirm: query.confirm,
    })
    // Its appservers and routing go in the background, then the final export of its databases, which schedules
    // the deletion of its resources after the retention period (the reconcilers finish both if a job is lost).
    const { jobs } = await getDeployContext()
    await jobs.send(QUEUES.retireInstance.name, { instanceId: archived.id })
    await jobs.send(QUEUES.exportInstance.name, { instanceId: archived.id })
    return archived
  },
)
