import { z } from 'zod'
import { defineRoute } from '@/app/api/_lib/route'
import { getDomainContext } from '@/lib/domains/get-domain-context'
import { listInstanceDomains } from '@/lib/domains/list-domains'
import { recheckDomain } from '@/lib/domains/manage-domains'
import { ZInstanceDomains } from '@/lib/domains/schemas'

export const POST = defineRoute(
  {
    method: 'POST',
    path: '/api/v1/domains/{id}/check',
    summary: "Check a custom domain's records now (an expired verification starts a new period); answers at once",
    tag: 'Domains',
    auth: 'user',
    params: z.object({ id: z.string().describe('Domain id') }),
    response: ZInstanceDomains,
    status: 202,
    errors: [404],
  },
  async ({ actor, params, ctx }) => {
    const domain = await recheckDomain(await getDomainContext(), actor, params.id)
    return listInstanceDomains(ctx.db, ctx.config, actor, domain.instanceId)
  },
)
