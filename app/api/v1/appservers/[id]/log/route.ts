import { z } from 'zod'
import { defineRoute } from '@/app/api/_lib/route'
import { listAppserverLog } from '@/lib/appservers/get-appserver'
import { ZAppserverLogLine } from '@/lib/deployments/schemas'

export const GET = defineRoute(
  {
    method: 'GET',
    path: '/api/v1/appservers/{id}/log',
    summary: "An appserver's transitions and provisioning output after a line id (clients: transitions only)",
    tag: 'Deployments',
    auth: 'user',
    params: z.object({ id: z.string().describe('Appserver id') }),
    query: z.object({
      after: z
        .string()
        .regex(/^\d{1,19}$/, 'must be a log line id')
        .optional()
        .describe('Only lines after this id (from `last`).'),
      limit: z.coerce.number().int().min(1).max(1000).default(500),
    }),
    response: z.object({ items: z.array(ZAppserverLogLine), last: z.string().nullable() }),
    errors: [404],
  },
  ({ actor, params, query, ctx }) =>
    listAppserverLog(ctx.db, actor, params.id, { after: query.after !== undefined ? BigInt(query.after) : undefined, limit: query.limit }),
)
