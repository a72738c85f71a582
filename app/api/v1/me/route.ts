import { z } from 'zod'
import { defineRoute } from '@/app/api/_lib/route'
import { ZMemberRole } from '@/lib/organizations/schemas'

export const GET = defineRoute(
  {
    method: 'GET',
    path: '/api/v1/me',
    summary: 'Who the request is authenticated as',
    tag: 'Accounts',
    auth: 'user',
    response: z.object({
      id: z.string(),
      email: z.string(),
      name: z.string(),
      isStaff: z.boolean(),
      memberships: z.array(z.object({ organizationId: z.string(), role: ZMemberRole })),
      viaApiToken: z.boolean(),
    }),
  },
  async ({ actor }) => ({
    id: actor.userId,
    email: actor.email,
    name: actor.name,
    isStaff: actor.isStaff,
    memberships: actor.memberships,
    viaApiToken: !!actor.apiTokenId,
  }),
)
