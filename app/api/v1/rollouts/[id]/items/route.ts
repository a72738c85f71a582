import { z } from 'zod'
import { defineRoute } from '@/app/api/_lib/route'
import { listRolloutItems } from '@/lib/rollouts/get-rollout'
import { ZRolloutItem } from '@/lib/rollouts/schemas'

export const GET = defineRoute(
  {
    method: 'GET',
    path: '/api/v1/rollouts/{id}/items',
    summary: "A rollout's instances in order, with each one's outcome (staff)",
    tag: 'Rollouts',
    auth: 'staff',
    params: z.object({ id: z.string().describe('Rollout id') }),
    query: z.object({
      limit: z.coerce.number().int().min(1).max(500).default(100),
      after: z.coerce.number().int().min(0).optional().describe('Position to continue after (from nextAfter).'),
      status: z.enum(['pending', 'deploying', 'succeeded', 'failed', 'skipped', 'cancelled']).optional(),
    }),
    response: z.object({ items: z.array(ZRolloutItem), nextAfter: z.number().int().nullable() }),
    errors: [404],
  },
  ({ actor, params, query, ctx }) => listRolloutItems(ctx.db, actor, params.id, query),
)
