import { z } from 'zod'
import { defineRoute } from '@/app/api/_lib/route'
import { getRollout } from '@/lib/rollouts/get-rollout'
import { ZRollout } from '@/lib/rollouts/schemas'

export const GET = defineRoute(
  {
    method: 'GET',
    path: '/api/v1/rollouts/{id}',
    summary: 'Read a rollout and its progress (staff)',
    tag: 'Rollouts',
    auth: 'staff',
    params: z.object({ id: z.string().describe('Rollout id') }),
    response: ZRollout,
    errors: [404],
  },
  ({ actor, params, ctx }) => getRollout(ctx.db, actor, params.id),
)
