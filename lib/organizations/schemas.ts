import { z } from 'zod'

export const ZMemberRole = z.enum(['owner', 'member'])

export const ZOrganizationRef = z.object({ id: z.uuid(), slug: z.string(), name: z.string() }).meta({ id: 'OrganizationRef' })

export const ZOrganization = z
  .object({
    id: z.uuid(),
    slug: z.string(),
    name: z.string(),
    instanceCount: z.number().int(),
    memberCount: z.number().int(),
    createdAt: z.iso.datetime(),
  })
  .meta({ id: 'Organization' })
export type TOrganization = z.infer<typeof ZOrganization>

export const ZCreateOrganizationRequest = z
  .object({
    name: z.string().trim().min(1, 'is required').max(100, 'must be at most 100 characters'),
    slug: z.string().optional().describe('DNS label; derived from the name when omitted.'),
  })
  .strict()
  .meta({ id: 'CreateOrganizationRequest' })
export type TCreateOrganizationRequest = z.infer<typeof ZCreateOrganizationRequest>

export const ZMember = z
  .object({ userId: z.string(), email: z.string(), name: z.string(), role: ZMemberRole, since: z.iso.datetime() })
  .meta({ id: 'Member' })

export const ZInvitation = z
  .object({
    id: z.uuid(),
    email: z.string(),
    role: ZMemberRole,
    status: z.enum(['pending', 'accepted', 'revoked', 'expired']),
    expiresAt: z.iso.datetime(),
    createdAt: z.iso.datetime(),
  })
  .meta({ id: 'Invitation' })
export type TInvitation = z.infer<typeof ZInvitation>

export const ZInviteMemberRequest = z
  .object({
    email: z.email('must be an email address').transform((e) => e.toLowerCase()),
    role: ZMemberRole.default('member'),
  })
  .strict()
  .meta({ id: 'InviteMemberRequest' })
export type TInviteMemberRequest = z.infer<typeof ZInviteMemberRequest>

export const ZListQuery = z.object({
  q: z.string().trim().max(100).optional(),
  cursor: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
})
