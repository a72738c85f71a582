import { z } from 'zod'
import { defineRoute } from '@/app/api/_lib/route'
import { findReadableResource } from '@/lib/resources/find-resource'
import { ZResource } from '@/lib/resources/schemas'
import { toResource } from '@/lib/resources/to-resource'

export const GET = defineRoute(
  {
    method: 'GET',
    path: '/api/v1/resources/{id}',
    summary: 'Read one resource (clients see its kind and state)',
    tag: 'Resources',
    auth: 'user',
    params: z.object({ id: z.string().describe('Resource id') }),
    response: ZResource,
    errors: [404],
  },
  async ({ actor, params, ctx }) => toResource(await findReadableResource(ctx.db, actor, params.id), actor),
)
