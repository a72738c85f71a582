import { z } from 'zod'
import { defineRoute } from '@/app/api/_lib/route'
import { revokeInvitation } from '@/lib/organizations/invitations'
import { ZInvitation } from '@/lib/organizations/schemas'

export const DELETE = defineRoute(
  {
    method: 'DELETE',
    path: '/api/v1/organizations/{id}/invitations/{invitationId}',
    summary: 'Revoke a pending invitation',
    tag: 'Organizations',
    auth: 'user',
    params: z.object({ id: z.string(), invitationId: z.string() }),
    response: ZInvitation,
    errors: [403, 404, 409],
  },
  ({ actor, params, ctx }) => revokeInvitation({ db: ctx.db, actor, organizationId: params.id, invitationId: params.invitationId }),
)
