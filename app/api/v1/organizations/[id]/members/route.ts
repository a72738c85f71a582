import { z } from 'zod'
import { defineRoute } from '@/app/api/_lib/route'
import { getOrganization } from '@/lib/organizations/list-organizations'
import { listMembers } from '@/lib/organizations/members'
import { ZMember } from '@/lib/organizations/schemas'

export const GET = defineRoute(
  {
    method: 'GET',
    path: '/api/v1/organizations/{id}/members',
    summary: 'List the members of an organization',
    tag: 'Organizations',
    auth: 'user',
    params: z.object({ id: z.string() }),
    response: z.object({ items: z.array(ZMember) }),
    errors: [404],
  },
  async ({ actor, params, ctx }) => {
    const org = await getOrganization({ db: ctx.db, actor, id: params.id })
    return { items: await listMembers({ db: ctx.db, actor, organizationId: org.id }) }
  },
)
