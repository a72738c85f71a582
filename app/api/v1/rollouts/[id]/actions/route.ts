import { z } from 'zod'
import { defineRoute } from '@/app/api/_lib/route'
import { getDeployContext } from '@/lib/deployments/deploy-context'
import { controlRollout } from '@/lib/rollouts/control-rollout'
import { ZRollout, ZRolloutAction } from '@/lib/rollouts/schemas'

export const POST = defineRoute(
  {
    method: 'POST',
    path: '/api/v1/rollouts/{id}/actions',
    summary: 'Pause, resume or cancel a rollout (staff); deployments in flight always finish',
    tag: 'Rollouts',
    auth: 'staff',
    params: z.object({ id: z.string().describe('Rollout id') }),
    body: ZRolloutAction,
    response: ZRollout,
    errors: [403, 404, 409],
  },
  async ({ actor, params, body }) => controlRollout(await getDeployContext(), actor, params.id, body.action),
)
