import { z } from 'zod'
import { defineRoute } from '@/app/api/_lib/route'
import { deleteCluster } from '@/lib/clusters/delete-cluster'
import { getCluster } from '@/lib/clusters/list-clusters'
import { ZCluster, ZUpdateClusterRequest } from '@/lib/clusters/schemas'
import { updateCluster } from '@/lib/clusters/update-cluster'
import { getResourceContext } from '@/lib/resources/get-resource-context'

const ZParams = z.object({ id: z.string().describe('Cluster id') })

export const GET = defineRoute(
  {
    method: 'GET',
    path: '/api/v1/clusters/{id}',
    summary: 'Read a cluster (staff; secrets are never returned)',
    tag: 'Clusters',
    auth: 'staff',
    params: ZParams,
    response: ZCluster,
    errors: [403, 404],
  },
  ({ actor, params, ctx }) => getCluster(ctx.db, actor, params.id),
)

export const PATCH = defineRoute(
  {
    method: 'PATCH',
    path: '/api/v1/clusters/{id}',
    summary: 'Change a cluster (staff; optimistic concurrency; a secret left out keeps its stored value)',
    tag: 'Clusters',
    auth: 'staff',
    params: ZParams,
    body: ZUpdateClusterRequest,
    response: ZCluster,
    errors: [403, 404, 409],
  },
  async ({ actor, params, body }) => updateCluster(await getResourceContext(), actor, params.id, body),
)

export const DELETE = defineRoute(
  {
    method: 'DELETE',
    path: '/api/v1/clusters/{id}',
    summary: 'Remove a cluster that holds no resources (staff)',
    tag: 'Clusters',
    auth: 'staff',
    params: ZParams,
    status: 204,
    errors: [403, 404, 409],
  },
  async ({ actor, params, ctx }) => {
    await deleteCluster(ctx, actor, params.id)
  },
)
