import { z } from 'zod'
import { defineRoute } from '@/app/api/_lib/route'
import { createCluster } from '@/lib/clusters/create-cluster'
import { listClusters } from '@/lib/clusters/list-clusters'
import { ZCluster, ZCreateClusterRequest } from '@/lib/clusters/schemas'
import { getResourceContext } from '@/lib/resources/get-resource-context'

export const GET = defineRoute(
  {
    method: 'GET',
    path: '/api/v1/clusters',
    summary: 'List the shared clusters instances get their resources on (staff)',
    tag: 'Clusters',
    auth: 'staff',
    response: z.object({ items: z.array(ZCluster) }),
    errors: [403],
  },
  async ({ actor, ctx }) => ({ items: await listClusters(ctx.db, actor) }),
)

export const POST = defineRoute(
  {
    method: 'POST',
    path: '/api/v1/clusters',
    summary: 'Register a shared MySQL, MongoDB, RabbitMQ or S3 cluster (staff); its connection is tested first',
    tag: 'Clusters',
    auth: 'staff',
    body: ZCreateClusterRequest,
    response: ZCluster,
    status: 201,
    errors: [403, 409],
  },
  async ({ actor, body }) => createCluster(await getResourceContext(), actor, body),
)
