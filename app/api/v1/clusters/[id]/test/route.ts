import { z } from 'zod'
import { defineRoute } from '@/app/api/_lib/route'
import { ZClusterTestResult } from '@/lib/clusters/schemas'
import { testCluster } from '@/lib/clusters/test-cluster'
import { getResourceContext } from '@/lib/resources/get-resource-context'

export const POST = defineRoute(
  {
    method: 'POST',
    path: '/api/v1/clusters/{id}/test',
    summary: "Test a cluster's administrator connection (staff)",
    tag: 'Clusters',
    auth: 'staff',
    params: z.object({ id: z.string().describe('Cluster id') }),
    response: ZClusterTestResult,
    errors: [403, 404],
  },
  async ({ actor, params }) => testCluster(await getResourceContext(), actor, params.id),
)
