import { z } from 'zod'
import { defineRoute } from '@/app/api/_lib/route'
import { acceptInvitation } from '@/lib/organizations/invitations'

export const POST = defineRoute(
  {
    method: 'POST',
    path: '/api/v1/invitations/{token}/accept',
    summary: 'Accept an invitation: new users send name and password; existing users must be signed in',
    tag: 'Invitations',
    auth: 'optional',
    params: z.object({ token: z.string().max(100) }),
    body: z.object({ name: z.string().optional(), password: z.string().optional() }).strict(),
    response: z.object({ userId: z.string(), organizationId: z.string(), createdAccount: z.boolean() }),
    errors: [403, 404, 409, 410],
  },
  ({ actor, params, body, ctx }) => acceptInvitation({ db: ctx.db, actor, token: params.token, newUser: body }),
)
