import { z } from 'zod'
import { defineRoute } from '@/app/api/_lib/route'
import { getDomainContext } from '@/lib/domains/get-domain-context'
import { listInstanceDomains } from '@/lib/domains/list-domains'
import { findReadableDomain, removeDomain } from '@/lib/domains/manage-domains'
import { ZInstanceDomains } from '@/lib/domains/schemas'

export const DELETE = defineRoute(
  {
    method: 'DELETE',
    path: '/api/v1/domains/{id}',
    summary: 'Remove a custom domain (?confirm=<hostname>): its routing and its certificate go too',
    tag: 'Domains',
    auth: 'user',
    params: z.object({ id: z.string().describe('Domain id') }),
    query: z.object({ confirm: z.string().optional().describe('The hostname, typed again') }),
    response: ZInstanceDomains,
    errors: [400, 404],
  },
  async ({ actor, params, query, ctx }) => {
    const domain = await findReadableDomain(ctx.db, actor, params.id)
    await removeDomain(await getDomainContext(), actor, params.id, query.confirm)
    return listInstanceDomains(ctx.db, ctx.config, actor, domain.instanceId)
  },
)
