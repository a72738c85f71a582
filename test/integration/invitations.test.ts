import { createHash } from 'node:crypto'
import { beforeAll, describe, expect, it } from 'vitest'
import * as accept from '@/app/api/v1/invitations/[token]/accept/route'
import * as preview from '@/app/api/v1/invitations/[token]/route'
import * as revoke from '@/app/api/v1/organizations/[id]/invitations/[invitationId]/route'
import * as invitations from '@/app/api/v1/organizations/[id]/invitations/route'
import * as me from '@/app/api/v1/me/route'
import { getDb } from '@/lib/db/client'
import { callRoute, type JsonBody } from '../support/call-route'
import { createTestOrganization, createTestUser, uniq, type TestUser } from '../support/fixtures'
import { auditOf, CONSOLE_ORIGIN, fieldsOf, signIn } from './helpers'

let staff: TestUser
let ownerA: TestUser
let memberA: TestUser
let ownerB: TestUser
let orgA: string
let orgB: string

beforeAll(async () => {
  ;[orgA, orgB] = (await Promise.all([createTestOrganization(), createTestOrganization()])).map((o) => o.id) as [string, string]
  ;[staff, ownerA, memberA, ownerB] = await Promise.all([
    createTestUser({ staff: true }),
    createTestUser({ organizationId: orgA, role: 'owner' }),
    createTestUser({ organizationId: orgA, role: 'member' }),
    createTestUser({ organizationId: orgB, role: 'owner' }),
  ])
})

const newEmail = () => `invitee-${uniq()}@example.test`
const tokenOf = (link: string) => link.split('/invite/')[1]!

async function invite(
  by: TestUser,
  org: string,
  email = newEmail(),
  role: 'owner' | 'member' = 'member',
): Promise<JsonBody & { token: string }> {
  const res = await callRoute(invitations.POST, { token: by.token, params: { id: org }, body: { email, role } })
  expect(res.status, JSON.stringify(res.body)).toBe(201)
  return { ...res.body, token: tokenOf(res.body.link) }
}

describe('inviting', () => {
  it('staff invite by email; the link is returned once and only its hash is stored', async () => {
    const email = newEmail()
    const res = await callRoute(invitations.POST, {
      token: staff.token,
      params: { id: orgA },
      body: { email: email.toUpperCase(), role: 'owner' },
    })
    expect(res.status).toBe(201)
    expect(res.body).toMatchObject({ delivery: 'logged', invitation: { email, role: 'owner', status: 'pending' } })
    expect(res.body.link).toMatch(/^http:\/\/console\.test\/invite\/[A-Za-z0-9_-]{43}$/)
    const token = tokenOf(res.body.link)
    const row = await getDb().invitation.findUniqueOrThrow({ where: { id: res.body.invitation.id } })
    expect(row.tokenHash).toBe(createHash('sha256').update(token).digest('hex'))
    expect(JSON.stringify(row)).not.toContain(token)
    expect(row.invitedById).toBe(staff.id)
    const [entry] = await auditOf(row.id)
    expect(entry).toMatchObject({ action: 'organization.member_invited', actorId: staff.id, organizationId: orgA })
    expect(JSON.stringify(entry)).not.toContain(token)
  })

  it('an owner invites into their organization', async () => {
    const inv = await invite(ownerA, orgA)
    expect(inv.invitation.role).toBe('member')
  })

  it('a member cannot invite (403); another organization is 404; nobody is 401', async () => {
    const email = newEmail()
    const asMember = await callRoute(invitations.POST, { token: memberA.token, params: { id: orgA }, body: { email } })
    expect(asMember.status).toBe(403)
    const asOtherOwner = await callRoute(invitations.POST, { token: ownerB.token, params: { id: orgA }, body: { email } })
    expect(asOtherOwner.status).toBe(404)
    const anonymous = await callRoute(invitations.POST, { params: { id: orgA }, body: { email } })
    expect(anonymous.status).toBe(401)
    expect(await getDb().invitation.count({ where: { email } })).toBe(0)
  })

  it.each([
    ['email', { email: 'not-an-email' }],
    ['email', {}],
    ['role', { email: 'x@example.test', role: 'admin' }],
    ['organizationId', { email: 'x@example.test', organizationId: 'x' }],
  ])('refuses a bad %s with 400 naming it', async (field, body) => {
    const res = await callRoute(invitations.POST, { token: staff.token, params: { id: orgA }, body })
    expect(res.status).toBe(400)
    expect(fieldsOf(res.body)).toEqual([field])
  })

  it('refuses to invite an existing member (409 naming email)', async () => {
    const res = await callRoute(invitations.POST, { token: staff.token, params: { id: orgA }, body: { email: memberA.email } })
    expect(res.status).toBe(409)
    expect(fieldsOf(res.body)).toEqual(['email'])
  })

  it('a new invitation revokes the pending one for the same address', async () => {
    const email = newEmail()
    const first = await invite(staff, orgA, email)
    const second = await invite(ownerA, orgA, email)
    const rows = await getDb().invitation.findMany({ where: { email }, orderBy: { createdAt: 'asc' } })
    expect(rows.map((r) => r.id)).toEqual([first.invitation.id, second.invitation.id])
    expect(rows[0]!.revokedAt).not.toBeNull()
    expect(rows[1]!.revokedAt).toBeNull()
    expect((await callRoute(preview.GET, { params: { token: first.token } })).status).toBe(410)
    expect((await callRoute(preview.GET, { params: { token: second.token } })).status).toBe(200)
  })

  it('staff and owners list invitations; members cannot; other organizations are 404', async () => {
    const inv = await invite(staff, orgA)
    for (const user of [staff, ownerA]) {
      const res = await callRoute(invitations.GET, { token: user.token, params: { id: orgA } })
      expect(res.status).toBe(200)
      expect(res.body.items.map((i: { id: string }) => i.id)).toContain(inv.invitation.id)
    }
    expect((await callRoute(invitations.GET, { token: memberA.token, params: { id: orgA } })).status).toBe(403)
    expect((await callRoute(invitations.GET, { token: ownerB.token, params: { id: orgA } })).status).toBe(404)
  })
})

describe('reading and accepting an invitation link', () => {
  it('anyone holding the link can preview it; an unknown token is 404', async () => {
    const inv = await invite(staff, orgA)
    const res = await callRoute(preview.GET, { params: { token: inv.token } })
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ organization: { id: orgA }, email: inv.invitation.email, role: 'member', accountExists: false })
    expect((await callRoute(preview.GET, { params: { token: 'no-such-token' } })).status).toBe(404)
    expect(
      (await callRoute(accept.POST, { params: { token: 'no-such-token' }, body: { name: 'x', password: 'long-enough-pw' } })).status,
    ).toBe(404)
  })

  it('someone new gets an account and a membership, and can sign in with it', async () => {
    const inv = await invite(ownerA, orgA, newEmail(), 'owner')
    const password = `fresh-password-${uniq()}`
    const res = await callRoute(accept.POST, { params: { token: inv.token }, body: { name: 'New Person', password } })
    expect(res.status, JSON.stringify(res.body)).toBe(200)
    expect(res.body).toMatchObject({ organizationId: orgA, createdAccount: true })
    const user = await getDb().user.findUniqueOrThrow({ where: { id: res.body.userId }, include: { memberships: true } })
    expect(user).toMatchObject({ email: inv.invitation.email, name: 'New Person', isStaff: false })
    expect(user.memberships).toEqual([expect.objectContaining({ organizationId: orgA, role: 'owner' })])
    expect((await getDb().invitation.findUniqueOrThrow({ where: { id: inv.invitation.id } })).acceptedAt).not.toBeNull()

    const session = await signIn(inv.invitation.email, password)
    expect(session.status).toBe(200)
    const who = await callRoute(me.GET, { cookie: session.cookie })
    expect(who.body).toMatchObject({ id: user.id, memberships: [{ organizationId: orgA, role: 'owner' }] })

    const actions = (await getDb().auditEntry.findMany({ where: { OR: [{ targetId: inv.invitation.id }, { targetId: user.id }] } })).map(
      (e) => e.action,
    )
    expect(actions).toEqual(expect.arrayContaining(['organization.member_invited', 'organization.member_joined', 'user.created']))
    expect(JSON.stringify(await getDb().auditEntry.findMany({ where: { targetId: user.id } }))).not.toContain(password)
  })

  it.each([
    ['password', { name: 'Short', password: 'short' }],
    ['password', { name: 'Missing' }],
    ['name', { password: 'long-enough-password' }],
    ['name', { name: '  ', password: 'long-enough-password' }],
  ])('refuses a bad %s with 400 naming it, leaving the invitation pending', async (field, body) => {
    const inv = await invite(staff, orgA)
    const res = await callRoute(accept.POST, { params: { token: inv.token }, body })
    expect(res.status).toBe(400)
    expect(fieldsOf(res.body)).toEqual([field])
    expect(await getDb().user.count({ where: { email: inv.invitation.email } })).toBe(0)
    const row = await getDb().invitation.findUniqueOrThrow({ where: { id: inv.invitation.id } })
    expect(row.acceptedAt).toBeNull()
    expect(
      (await callRoute(accept.POST, { params: { token: inv.token }, body: { name: 'Fixed', password: 'long-enough-password' } })).status,
    ).toBe(200)
  })

  it('an accepted invitation is gone (410)', async () => {
    const inv = await invite(staff, orgA)
    expect(
      (await callRoute(accept.POST, { params: { token: inv.token }, body: { name: 'A', password: 'long-enough-password' } })).status,
    ).toBe(200)
    const again = await callRoute(accept.POST, { params: { token: inv.token }, body: { name: 'B', password: 'long-enough-password' } })
    expect(again.status).toBe(410)
    expect(again.body.error.code).toBe('gone')
    expect((await callRoute(preview.GET, { params: { token: inv.token } })).status).toBe(410)
  })

  it('an expired invitation is gone (410)', async () => {
    const inv = await invite(staff, orgA)
    await getDb().invitation.update({ where: { id: inv.invitation.id }, data: { expiresAt: new Date(Date.now() - 1000) } })
    expect((await callRoute(preview.GET, { params: { token: inv.token } })).status).toBe(410)
    const res = await callRoute(accept.POST, { params: { token: inv.token }, body: { name: 'Late', password: 'long-enough-password' } })
    expect(res.status).toBe(410)
    expect(await getDb().user.count({ where: { email: inv.invitation.email } })).toBe(0)
  })

  it('of two concurrent accepts only one succeeds', async () => {
    const inv = await invite(staff, orgA)
    const results = await Promise.all(
      [1, 2].map(() => callRoute(accept.POST, { params: { token: inv.token }, body: { name: 'Racer', password: 'long-enough-password' } })),
    )
    expect(results.filter((r) => r.status === 200)).toHaveLength(1)
    expect(await getDb().user.count({ where: { email: inv.invitation.email } })).toBe(1)
  })
})

describe('accepting as someone who already has an account', () => {
  it('needs to be signed in as the invited address', async () => {
    const existing = await createTestUser({ organizationId: orgB, role: 'member' })
    const inv = await invite(staff, orgA, existing.email, 'member')
    expect((await callRoute(preview.GET, { params: { token: inv.token } })).body.accountExists).toBe(true)

    const anonymous = await callRoute(accept.POST, { params: { token: inv.token }, body: {} })
    expect(anonymous.status).toBe(401)
    const someoneElse = await callRoute(accept.POST, { token: memberA.token, params: { token: inv.token }, body: {} })
    expect(someoneElse.status).toBe(403)
    expect(await getDb().membership.count({ where: { userId: existing.id, organizationId: orgA } })).toBe(0)

    const res = await callRoute(accept.POST, { token: existing.token, params: { token: inv.token }, body: {} })
    expect(res.status).toBe(200)
    expect(res.body).toEqual({ userId: existing.id, organizationId: orgA, createdAccount: false })
    const memberships = await getDb().membership.findMany({ where: { userId: existing.id } })
    expect(memberships.map((m) => m.organizationId).sort()).toEqual([orgA, orgB].sort())
  })

  it('works with a console session from the right origin', async () => {
    const existing = await createTestUser({ organizationId: orgB, role: 'member' })
    const inv = await invite(staff, orgA, existing.email)
    const session = await signIn(existing.email, 'test-password-123')
    expect(session.status).toBe(200)
    const foreign = await callRoute(accept.POST, {
      cookie: session.cookie,
      params: { token: inv.token },
      body: {},
      headers: { origin: 'http://evil.test' },
    })
    expect(foreign.status).toBe(403)
    const res = await callRoute(accept.POST, {
      cookie: session.cookie,
      params: { token: inv.token },
      body: {},
      headers: { origin: CONSOLE_ORIGIN },
    })
    expect(res.status).toBe(200)
  })
})

describe('accepting when already a member', () => {
  it('is a conflict (409) and leaves the invitation pending', async () => {
    const existing = await createTestUser({ organizationId: orgB, role: 'member' })
    const inv = await invite(staff, orgA, existing.email)
    // Became a member some other way after the invitation was sent.
    await getDb().membership.create({ data: { userId: existing.id, organizationId: orgA, role: 'member' } })
    const res = await callRoute(accept.POST, { token: existing.token, params: { token: inv.token }, body: {} })
    expect(res.status).toBe(409)
    expect(res.body.error.message).toMatch(/already a member/)
    expect((await callRoute(preview.GET, { params: { token: inv.token } })).status).toBe(200)
  })
})

describe('revoking', () => {
  it('staff or an owner revoke a pending invitation; the link is then gone', async () => {
    const inv = await invite(staff, orgA)
    const res = await callRoute(revoke.DELETE, { token: ownerA.token, params: { id: orgA, invitationId: inv.invitation.id } })
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ id: inv.invitation.id, status: 'revoked' })
    expect((await callRoute(preview.GET, { params: { token: inv.token } })).status).toBe(410)
    expect(
      (await callRoute(accept.POST, { params: { token: inv.token }, body: { name: 'x', password: 'long-enough-password' } })).status,
    ).toBe(410)
    const again = await callRoute(revoke.DELETE, { token: staff.token, params: { id: orgA, invitationId: inv.invitation.id } })
    expect(again.status).toBe(409)
    expect((await auditOf(inv.invitation.id)).map((e) => e.action)).toEqual([
      'organization.member_invited',
      'organization.invitation_revoked',
    ])
  })

  it('of two concurrent revocations one wins and the other gets 409', async () => {
    const inv = await invite(staff, orgA)
    const results = await Promise.all(
      [staff, ownerA].map((user) => callRoute(revoke.DELETE, { token: user.token, params: { id: orgA, invitationId: inv.invitation.id } })),
    )
    expect(results.map((r) => r.status).sort()).toEqual([200, 409])
    expect((await auditOf(inv.invitation.id)).filter((e) => e.action === 'organization.invitation_revoked')).toHaveLength(1)
  })

  it('members cannot revoke (403); other organizations and unknown ids are 404', async () => {
    const inv = await invite(staff, orgA)
    expect((await callRoute(revoke.DELETE, { token: memberA.token, params: { id: orgA, invitationId: inv.invitation.id } })).status).toBe(
      403,
    )
    expect((await callRoute(revoke.DELETE, { token: ownerB.token, params: { id: orgA, invitationId: inv.invitation.id } })).status).toBe(
      404,
    )
    // the right invitation id under the wrong organization
    expect((await callRoute(revoke.DELETE, { token: ownerB.token, params: { id: orgB, invitationId: inv.invitation.id } })).status).toBe(
      404,
    )
    expect((await callRoute(revoke.DELETE, { token: staff.token, params: { id: orgA, invitationId: 'nope' } })).status).toBe(404)
    expect((await getDb().invitation.findUniqueOrThrow({ where: { id: inv.invitation.id } })).revokedAt).toBeNull()
  })
})
