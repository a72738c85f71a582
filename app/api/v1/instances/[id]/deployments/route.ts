import { z } from 'zod'
import { defineRoute } from '@/app/api/_lib/route'
import { createDeployment } from '@/lib/deployments/create-deployment'
import { getDeployContext } from '@/lib/deployments/deploy-context'
import { DEPLOYMENT_WITH_APPSERVERS, listDeployments, toDeployment } from '@/lib/deployments/list-deployments'
import { rollbackDeployment } from '@/lib/deployments/rollback-deployment'
import { ZCreateDeploymentRequest, ZDeployment } from '@/lib/deployments/schemas'

const ZParams = z.object({ id: z.string().describe('Instance id') })

export const GET = defineRoute(
  {
    method: 'GET',
    path: '/api/v1/instances/{id}/deployments',
    summary: "List an instance's deployments with their appservers, newest first",
    tag: 'Deployments',
    auth: 'user',
    params: ZParams,
    query: z.object({
      limit: z.coerce.number().int().min(1).max(100).default(20).describe('Page size.'),
      before: z.coerce.number().int().min(1).optional().describe('Deployment number to continue before (from nextBefore).'),
    }),
    response: z.object({ items: z.array(ZDeployment), nextBefore: z.number().int().nullable() }),
    errors: [404],
  },
  ({ actor, params, query, ctx }) => listDeployments(ctx.db, actor, params.id, query),
)

export const POST = defineRoute(
  {
    method: 'POST',
    path: '/api/v1/instances/{id}/deployments',
    summary: 'Deploy the current settings, or roll back to an earlier deployment (staff). Answers at once; watch the deployment.',
    tag: 'Deployments',
    auth: 'user',
    params: ZParams,
    body: ZCreateDeploymentRequest,
    response: ZDeployment,
    status: 202,
    errors: [403, 404, 409],
  },
  async ({ actor, params, body, ctx }) => {
    const o = await getDeployContext()
    const started =
      body.action === 'rollback'
        ? await rollbackDeployment(o, actor, params.id, body.deploymentId)
        : await createDeployment(o, { actor, instanceId: params.id })
    return toDeployment(await ctx.db.deployment.findUniqueOrThrow({ where: { id: started.id }, include: DEPLOYMENT_WITH_APPSERVERS }), true)
  },
)
