import { z } from 'zod'
import { defineRoute } from '@/app/api/_lib/route'
import { revokeApiToken, ZApiToken } from '@/lib/tokens/api-tokens'

export const DELETE = defineRoute(
  {
    method: 'DELETE',
    path: '/api/v1/tokens/{id}',
    summary: 'Revoke an API token (your own; staff any)',
    tag: 'API tokens',
    auth: 'user',
    params: z.object({ id: z.string() }),
    response: ZApiToken,
    errors: [404, 409],
  },
  ({ actor, params, ctx }) => revokeApiToken({ db: ctx.db, actor, id: params.id }),
)
