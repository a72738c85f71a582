import { defineRoute } from '@/app/api/_lib/route'
import { createOrganization } from '@/lib/organizations/create-organization'
import { listOrganizations } from '@/lib/organizations/list-organizations'
import { ZCreateOrganizationRequest, ZListQuery, ZOrganization } from '@/lib/organizations/schemas'
import { z } from 'zod'

export const GET = defineRoute(
  {
    method: 'GET',
    path: '/api/v1/organizations',
    summary: 'List organizations (staff: all; clients: their own)',
    tag: 'Organizations',
    auth: 'user',
    query: ZListQuery,
    response: z.object({ items: z.array(ZOrganization), nextCursor: z.string().nullable() }),
  },
  ({ actor, query, ctx }) => listOrganizations({ db: ctx.db, actor, query }),
)

export const POST = defineRoute(
  {
    method: 'POST',
    path: '/api/v1/organizations',
    summary: 'Create an organization (staff)',
    tag: 'Organizations',
    auth: 'staff',
    body: ZCreateOrganizationRequest,
    response: ZOrganization,
    status: 201,
    errors: [403, 409],
  },
  ({ actor, body, ctx }) => createOrganization({ db: ctx.db, actor, input: body }),
)
