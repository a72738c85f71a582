import { z } from 'zod'
import { defineRoute } from '@/app/api/_lib/route'
import { getDeployContext } from '@/lib/deployments/deploy-context'
import { createRollout } from '@/lib/rollouts/create-rollout'
import { listRollouts } from '@/lib/rollouts/get-rollout'
import { ZCreateRolloutRequest, ZRollout } from '@/lib/rollouts/schemas'

export const GET = defineRoute(
  {
    method: 'GET',
    path: '/api/v1/rollouts',
    summary: 'List rollouts (rolling redeploys), newest first (staff)',
    tag: 'Rollouts',
    auth: 'staff',
    query: z.object({ limit: z.coerce.number().int().min(1).max(100).default(20), cursor: z.string().optional() }),
    response: z.object({ items: z.array(ZRollout), nextCursor: z.string().nullable() }),
  },
  ({ actor, query, ctx }) => listRollouts(ctx.db, actor, query),
)

export const POST = defineRoute(
  {
    method: 'POST',
    path: '/api/v1/rollouts',
    summary: 'Start a rolling redeploy over a selection of instances (staff, or the scheduler with an API token)',
    tag: 'Rollouts',
    auth: 'staff',
    body: ZCreateRolloutRequest,
    response: ZRollout,
    status: 201,
    errors: [403],
  },
  async ({ actor, body }) => createRollout(await getDeployContext(), actor, body),
)
