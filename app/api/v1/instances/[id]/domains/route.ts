import { z } from 'zod'
import { defineRoute } from '@/app/api/_lib/route'
import { getDomainContext } from '@/lib/domains/get-domain-context'
import { listInstanceDomains } from '@/lib/domains/list-domains'
import { addDomain } from '@/lib/domains/manage-domains'
import { ZAddDomainBody, ZInstanceDomains } from '@/lib/domains/schemas'

const ZParams = z.object({ id: z.string().describe('Instance id') })

export const GET = defineRoute(
  {
    method: 'GET',
    path: '/api/v1/instances/{id}/domains',
    summary: "An instance's hostnames (DNS state, certificate) and custom domains (verification, records to create, certificate)",
    tag: 'Domains',
    auth: 'user',
    params: ZParams,
    response: ZInstanceDomains,
    errors: [404],
  },
  ({ actor, params, ctx }) => listInstanceDomains(ctx.db, ctx.config, actor, params.id),
)

export const POST = defineRoute(
  {
    method: 'POST',
    path: '/api/v1/instances/{id}/domains',
    summary: 'Add a custom domain; answers with the records to create, and checks them with backoff until verified',
    tag: 'Domains',
    auth: 'user',
    params: ZParams,
    body: ZAddDomainBody,
    response: ZInstanceDomains,
    status: 201,
    errors: [400, 404, 409],
  },
  async ({ actor, params, body, ctx }) => {
    await addDomain(await getDomainContext(), actor, params.id, body)
    return listInstanceDomains(ctx.db, ctx.config, actor, params.id)
  },
)
