import { z } from 'zod'
import { defineRoute } from '@/app/api/_lib/route'
import { getDeployContext } from '@/lib/deployments/deploy-context'
import { previewDeployment } from '@/lib/deployments/preview-deployment'
import { ZDeploymentPreview } from '@/lib/deployments/schemas'

export const GET = defineRoute(
  {
    method: 'GET',
    path: '/api/v1/instances/{id}/deployments/preview',
    summary: 'What a new deployment would change against the active one (staff; secrets masked)',
    tag: 'Deployments',
    auth: 'user',
    params: z.object({ id: z.string().describe('Instance id') }),
    response: ZDeploymentPreview,
    errors: [403, 404],
  },
  async ({ actor, params }) => previewDeployment(await getDeployContext(), actor, params.id),
)
