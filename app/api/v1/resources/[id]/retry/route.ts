import { z } from 'zod'
import { defineRoute } from '@/app/api/_lib/route'
import { getResourceContext } from '@/lib/resources/get-resource-context'
import { retryResource } from '@/lib/resources/retry-resource'
import { ZResource } from '@/lib/resources/schemas'

export const POST = defineRoute(
  {
    method: 'POST',
    path: '/api/v1/resources/{id}/retry',
    summary: 'Run ensure again: after a failure, or to repair drift on a ready resource (staff); answers at once',
    tag: 'Resources',
    auth: 'staff',
    params: z.object({ id: z.string().describe('Resource id') }),
    response: ZResource,
    status: 202,
    errors: [403, 404, 409],
  },
  async ({ actor, params }) => retryResource(await getResourceContext(), actor, params.id),
)
