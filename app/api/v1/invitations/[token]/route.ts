import { z } from 'zod'
import { defineRoute } from '@/app/api/_lib/route'
import { previewInvitation } from '@/lib/organizations/invitations'
import { ZMemberRole, ZOrganizationRef } from '@/lib/organizations/schemas'

export const GET = defineRoute(
  {
    method: 'GET',
    path: '/api/v1/invitations/{token}',
    summary: 'Read a pending invitation by its link token',
    tag: 'Invitations',
    auth: 'public',
    params: z.object({ token: z.string().max(100) }),
    response: z.object({
      organization: ZOrganizationRef,
      email: z.string(),
      role: ZMemberRole,
      expiresAt: z.string(),
      accountExists: z.boolean(),
    }),
    errors: [404, 410],
  },
  ({ params, ctx }) => previewInvitation({ db: ctx.db, token: params.token }),
)
