import { z } from 'zod'
import { defineRoute } from '@/app/api/_lib/route'
import { inviteMember, listInvitations } from '@/lib/organizations/invitations'
import { ZInvitation, ZInviteMemberRequest } from '@/lib/organizations/schemas'

const ZParams = z.object({ id: z.string() })

export const GET = defineRoute(
  {
    method: 'GET',
    path: '/api/v1/organizations/{id}/invitations',
    summary: 'List invitations (staff or owner)',
    tag: 'Organizations',
    auth: 'user',
    params: ZParams,
    response: z.object({ items: z.array(ZInvitation) }),
    errors: [403, 404],
  },
  async ({ actor, params, ctx }) => ({ items: await listInvitations({ db: ctx.db, actor, organizationId: params.id }) }),
)

export const POST = defineRoute(
  {
    method: 'POST',
    path: '/api/v1/organizations/{id}/invitations',
    summary: 'Invite a client user by email (staff or owner); the link is emailed, or logged without SMTP, and returned once',
    tag: 'Organizations',
    auth: 'user',
    params: ZParams,
    body: ZInviteMemberRequest,
    response: z.object({ invitation: ZInvitation, link: z.string(), delivery: z.enum(['sent', 'logged']) }),
    status: 201,
    errors: [403, 404, 409],
  },
  ({ actor, params, body, ctx }) => inviteMember({ db: ctx.db, actor, config: ctx.config, organizationId: params.id, input: body }),
)
