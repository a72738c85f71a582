import { z } from 'zod'
import { defineRoute } from '@/app/api/_lib/route'
import { ZInstance } from '@/lib/instances/schemas'
import { getResourceContext } from '@/lib/resources/get-resource-context'
import { restoreInstance } from '@/lib/resources/restore-instance'

export const POST = defineRoute(
  {
    method: 'POST',
    path: '/api/v1/instances/{id}/restore',
    summary: 'Restore an archived instance within its retention period (staff); its resources are checked again, then deploy it',
    tag: 'Instances',
    auth: 'staff',
    params: z.object({ id: z.string().describe('Instance id') }),
    response: ZInstance,
    errors: [403, 404, 409],
  },
  async ({ actor, params }) => restoreInstance(await getResourceContext(), actor, params.id),
)
