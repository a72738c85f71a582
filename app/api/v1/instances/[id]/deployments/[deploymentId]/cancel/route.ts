import { z } from 'zod'
import { defineRoute } from '@/app/api/_lib/route'
import { cancelDeployment } from '@/lib/deployments/cancel-deployment'
import { getDeployContext } from '@/lib/deployments/deploy-context'
import { DEPLOYMENT_WITH_APPSERVERS, toDeployment } from '@/lib/deployments/list-deployments'
import { ZDeployment } from '@/lib/deployments/schemas'

export const POST = defineRoute(
  {
    method: 'POST',
    path: '/api/v1/instances/{id}/deployments/{deploymentId}/cancel',
    summary: 'Cancel a building deployment (staff); its appservers are removed, the active deployment is untouched',
    tag: 'Deployments',
    auth: 'user',
    params: z.object({ id: z.string().describe('Instance id'), deploymentId: z.string().describe('Deployment id') }),
    response: ZDeployment,
    status: 202,
    errors: [403, 404, 409],
  },
  async ({ actor, params, ctx }) => {
    await cancelDeployment(await getDeployContext(), actor, params.id, params.deploymentId)
    return toDeployment(
      await ctx.db.deployment.findUniqueOrThrow({ where: { id: params.deploymentId }, include: DEPLOYMENT_WITH_APPSERVERS }),
      true,
    )
  },
)
