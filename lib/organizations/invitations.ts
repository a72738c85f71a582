import { createHash, randomBytes } from 'node:crypto'
import { z } from 'zod'
import type { Actor } from '@/lib/auth/actor'
import { assertStaffOrOwner, requireUser } from '@/lib/auth/policy'
import { recordAudit } from '@/lib/audit/record-audit'
import type { Config } from '@/lib/config'
import type { Db } from '@/lib/db/client'
import type { Invitation } from '@/lib/db/generated/client'
import { checkNewUser, createUserInTx, prepareNewUser, type PreparedUser } from '@/lib/accounts/create-user'
import { conflict, DomainError, forbidden, notFound } from '@/lib/errors'
import { sendMail } from '@/lib/mail/send-mail'
import type { TInvitation, TInviteMemberRequest } from './schemas'
import { getOrganization } from './list-organizations'

const hash = (token: string) => createHash('sha256').update(token).digest('hex')

function invitationStatus(row: Invitation, now = new Date()): TInvitation['status'] {
  if (row.acceptedAt) return 'accepted'
  if (row.revokedAt) return 'revoked'
  if (row.expiresAt <= now) return 'expired'
  return 'pending'
}

function toInvitation(row: Invitation): TInvitation {
  return {
    id: row.id,
    email: row.email,
    role: row.role,
    status: invitationStatus(row),
    expiresAt: row.expiresAt.toISOString(),
    createdAt: row.createdAt.toISOString(),
  }
}

/**
 * Invites someone into an organization (staff, or an owner of it). The link carries a random token of
 * which only the hash is stored; it is emailed (or logged without SMTP) and also returned once, so the
 * person inviting can pass it on another way.
 */
export async function inviteMember(opts: {
  db: Db
  actor: Actor
  config: Pick<Config, 'publicUrl' | 'invitationTtlHours' | 'smtpUrl' | 'mailFrom'>
  organizationId: string
  input: TInviteMemberRequest
}): Promise<{ invitation: TInvitation; link: string; delivery: 'sent' | 'logged' }> {
  const { db, actor, input } = opts
  const org = await getOrganization({ db, actor, id: opts.organizationId })
  assertStaffOrOwner(actor, org.id)
  const already = await db.membership.findFirst({ where: { organizationId: org.id, user: { email: input.email } } })
  if (already)
    throw conflict(`${input.email} is already a member of ${org.name}`, undefined, [{ field: 'email', message: 'is already a member' }])
  const token = randomBytes(32).toString('base64url')
  const row = await db.$transaction(async (tx) => {
    // A new invitation replaces any pending one for the same address.
    await tx.invitation.updateMany({
      where: { organizationId: org.id, email: input.email, acceptedAt: null, revokedAt: null },
      data: { revokedAt: new Date() },
    })
    const created = await tx.invitation.create({
      data: {
        organizationId: org.id,
        email: input.email,
        role: input.role,
        tokenHash: hash(token),
        invitedById: actor.kind === 'user' ? actor.userId : null,
        expiresAt: new Date(Date.now() + opts.config.invitationTtlHours * 3600_000),
      },
    })
    await recordAudit(tx, {
      actor,
      action: 'organization.member_invited',
      targetType: 'invitation',
      targetId: created.id,
      organizationId: org.id,
      after: { email: created.email, role: created.role, expiresAt: created.expiresAt },
    })
    return created
  })
  const link = `${opts.config.publicUrl}/invite/${token}`
  const delivery = await sendMail(opts.config, {
    to: input.email,
    subject: `You are invited to ${org.name} on Tenon`,
    text: `You have been invited to join ${org.name} as ${input.role}.\n\nAccept the invitation: ${link}\n\nThe link expires on ${row.expiresAt.toUTCString()}.`,
  })
  return { invitation: toInvitation(row), link, delivery }
}

export async function listInvitations(opts: { db: Db; actor: Actor; organizationId: string }): Promise<TInvitation[]> {
  const org = await getOrganization({ db: opts.db, actor: opts.actor, id: opts.organizationId })
  assertStaffOrOwner(opts.actor, org.id)
  const rows = await opts.db.invitation.findMany({ where: { organizationId: org.id }, orderBy: { createdAt: 'desc' }, take: 200 })
  return rows.map(toInvitation)
}

export async function revokeInvitation(opts: { db: Db; actor: Actor; organizationId: string; invitationId: string }): Promise<TInvitation> {
  const org = await getOrganization({ db: opts.db, actor: opts.actor, id: opts.organizationId })
  assertStaffOrOwner(opts.actor, org.id)
  const row = z.uuid().safeParse(opts.invitationId).success
    ? await opts.db.invitation.findFirst({ where: { id: opts.invitationId, organizationId: org.id } })
    : null
  if (!row) throw notFound('Invitation')
  if (invitationStatus(row) !== 'pending') throw conflict(`The invitation is already ${invitationStatus(row)}`)
  const updated = await opts.db.$transaction(async (tx) => {
    // Of two concurrent revocations (or a revocation and an acceptance) only one finds it pending.
    const { count } = await tx.invitation.updateMany({
      where: { id: row.id, acceptedAt: null, revokedAt: null },
      data: { revokedAt: new Date() },
    })
    if (count === 0) return null
    const u = await tx.invitation.findUniqueOrThrow({ where: { id: row.id } })
    await recordAudit(tx, {
      actor: opts.actor,
      action: 'organization.invitation_revoked',
      targetType: 'invitation',
      targetId: row.id,
      organizationId: org.id,
      before: { email: row.email },
    })
    return u
  })
  if (!updated) {
    const latest = await opts.db.invitation.findUniqueOrThrow({ where: { id: row.id } })
    throw conflict(`The invitation is already ${invitationStatus(latest)}`)
  }
  return toInvitation(updated)
}

async function pendingInvitation(db: Db, token: string) {
  const row = await db.invitation.findUnique({
    where: { tokenHash: hash(token) },
    include: { organization: { select: { id: true, name: true, slug: true } } },
  })
  if (!row) throw notFound('Invitation')
  const status = invitationStatus(row)
  if (status !== 'pending') throw new DomainError('gone', `This invitation is ${status}; ask for a new one`)
  return row
}

/** What the invitation page shows before accepting. Anyone holding the link may read it. */
export async function previewInvitation(opts: { db: Db; token: string }) {
  const row = await pendingInvitation(opts.db, opts.token)
  const accountExists = !!(await opts.db.user.findUnique({ where: { email: row.email }, select: { id: true } }))
  return { organization: row.organization, email: row.email, role: row.role, expiresAt: row.expiresAt.toISOString(), accountExists }
}

/**
 * Accepts an invitation. Someone new gives a name and password and gets an account; someone who already
 * has an account must be signed in as the invited address.
 */
export async function acceptInvitation(opts: {
  db: Db
  actor: Actor | null
  token: string
  newUser?: unknown
}): Promise<{ userId: string; organizationId: string; createdAccount: boolean }> {
  const { db } = opts
  const invitation = await pendingInvitation(db, opts.token)
  const existing = await db.user.findUnique({ where: { email: invitation.email }, select: { id: true } })
  const joiner: { kind: 'existing'; userId: string } | { kind: 'new'; user: PreparedUser } = existing
    ? { kind: 'existing', userId: existing.id }
    : { kind: 'new', user: await prepareNewUser(checkNewUser({ ...(opts.newUser as object), email: invitation.email })) }
  if (existing) {
    const user = requireUser(opts.actor ?? { kind: 'system', label: 'anonymous' })
    if (user.userId !== existing.id) throw forbidden(`Sign in as ${invitation.email} to accept this invitation`)
    if (user.memberships.some((m) => m.organizationId === invitation.organizationId)) {
      throw conflict(`You are already a member of ${invitation.organization.name}`)
    }
  }
  return db.$transaction(async (tx) => {
    // Claim the invitation first: of two concurrent accepts, only one updates the row.
    const { count } = await tx.invitation.updateMany({
      where: { id: invitation.id, acceptedAt: null, revokedAt: null },
      data: { acceptedAt: new Date() },
    })
    if (count === 0) throw new DomainError('gone', 'This invitation was just used')
    const system = { kind: 'system' as const, label: 'invitation' }
    let userId: string
    if (joiner.kind === 'new') {
      userId = (
        await createUserInTx(tx, {
          actor: system,
          user: joiner.user,
          isStaff: false,
          membership: { organizationId: invitation.organizationId, role: invitation.role },
        })
      ).id
    } else {
      userId = joiner.userId
      await tx.membership.create({ data: { userId, organizationId: invitation.organizationId, role: invitation.role } })
    }
    const actor = opts.actor ?? { kind: 'user' as const, userId, email: invitation.email, name: '', isStaff: false, memberships: [] }
    await recordAudit(tx, {
      actor,
      action: 'organization.member_joined',
      targetType: 'invitation',
      targetId: invitation.id,
      organizationId: invitation.organizationId,
      after: { email: invitation.email, role: invitation.role },
    })
    return { userId, organizationId: invitation.organizationId, createdAccount: joiner.kind === 'new' }
  })
}
