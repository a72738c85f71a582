import { z } from 'zod'
import { defineRoute } from '@/app/api/_lib/route'
import { getResourceContext } from '@/lib/resources/get-resource-context'
import { requestRotation } from '@/lib/resources/request-rotation'
import { ZResource } from '@/lib/resources/schemas'

export const POST = defineRoute(
  {
    method: 'POST',
    path: '/api/v1/resources/{id}/rotate',
    summary: 'Give the instance new credentials for this resource (staff); the old ones stop working, so redeploy afterwards',
    tag: 'Resources',
    auth: 'staff',
    params: z.object({ id: z.string().describe('Resource id') }),
    response: ZResource,
    status: 202,
    errors: [403, 404, 409],
  },
  async ({ actor, params }) => requestRotation(await getResourceContext(), actor, params.id),
)
