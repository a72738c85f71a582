import { beforeAll, describe, expect, it } from 'vitest'
import * as audit from '@/app/api/v1/audit/route'
import * as accept from '@/app/api/v1/invitations/[token]/accept/route'
import * as instance from '@/app/api/v1/instances/[id]/route'
import * as invitations from '@/app/api/v1/organizations/[id]/invitations/route'
import * as organizations from '@/app/api/v1/organizations/route'
import * as token from '@/app/api/v1/tokens/[id]/route'
import * as tokens from '@/app/api/v1/tokens/route'
import { getDb } from '@/lib/db/client'
import { callRoute, type JsonBody } from '../support/call-route'
import { createTestOrganization, createTestUser, PASSWORD, uniq, type TestUser } from '../support/fixtures'
import { createInstanceVia, fieldsOf } from './helpers'

let staff: TestUser
let ownerA: TestUser
let memberA: TestUser
let ownerB: TestUser
let loner: TestUser
let orgA: string
let orgB: string
let instA: JsonBody
let instB: JsonBody
const password = `invitee-secret-${uniq()}`
let inviteeId: string
let createdOrgId: string
let apiTokenId: string

type Entry = {
  id: string
  action: string
  targetType: string
  targetId: string
  organizationId: string | null
  actor: { id: string | null; label: string; apiTokenId: string | null }
  diff: Record<string, { before?: unknown; after?: unknown }>
}

async function readAll(user: TestUser, query: Record<string, string | number | undefined> = {}): Promise<Entry[]> {
  const out: Entry[] = []
  let cursor: string | undefined
  for (let i = 0; i < 50; i++) {
    const res = await callRoute(audit.GET, { token: user.token, query: { limit: 200, ...query, cursor } })
    expect(res.status, JSON.stringify(res.body)).toBe(200)
    out.push(...res.body.items)
    cursor = res.body.nextCursor ?? undefined
    if (!cursor) return out
  }
  throw new Error('audit log did not end')
}

beforeAll(async () => {
  ;[orgA, orgB] = (await Promise.all([createTestOrganization(), createTestOrganization()])).map((o) => o.id) as [string, string]
  ;[staff, ownerA, memberA, ownerB, loner] = await Promise.all([
    createTestUser({ staff: true }),
    createTestUser({ organizationId: orgA, role: 'owner' }),
    createTestUser({ organizationId: orgA, role: 'member' }),
    createTestUser({ organizationId: orgB, role: 'owner' }),
    createTestUser(),
  ])
  // One of every mutation, through the API.
  instA = await createInstanceVia(staff.token, orgA, { settings: { contactEmail: 'a@b.test' } })
  instB = await createInstanceVia(staff.token, orgB)
  const updated = await callRoute(instance.PATCH, {
    token: staff.token,
    params: { id: instA.id },
    body: { version: 1, settings: { release: 'sumac.3' } },
  })
  expect(updated.status).toBe(200)
  expect((await callRoute(instance.DELETE, { token: staff.token, params: { id: instB.id }, query: { confirm: instB.slug } })).status).toBe(
    200,
  )
  const org = await callRoute(organizations.POST, { token: staff.token, body: { name: `Audited ${uniq()}` } })
  createdOrgId = org.body.id
  const inv = await callRoute(invitations.POST, {
    token: ownerA.token,
    params: { id: orgA },
    body: { email: `audited-${uniq()}@example.test` },
  })
  expect(inv.status).toBe(201)
  const accepted = await callRoute(accept.POST, {
    params: { token: inv.body.link.split('/invite/')[1] },
    body: { name: 'Invitee', password },
  })
  expect(accepted.status).toBe(200)
  inviteeId = accepted.body.userId
  const created = await callRoute(tokens.POST, { token: ownerA.token, body: { name: 'audited' } })
  apiTokenId = created.body.apiToken.id
  expect((await callRoute(token.DELETE, { token: ownerA.token, params: { id: apiTokenId } })).status).toBe(200)
})

describe('the audit trail', () => {
  it('records every mutation with actor, action, target and diff', async () => {
    const entries = await readAll(staff, { organizationId: orgA })
    const about = (targetId: string) => entries.filter((e) => e.targetId === targetId).map((e) => e.action)
    expect(about(instA.id)).toEqual(['instance.updated', 'instance.created'])
    const updatedEntry = entries.find((e) => e.action === 'instance.updated' && e.targetId === instA.id)!
    expect(updatedEntry).toMatchObject({
      targetType: 'instance',
      organizationId: orgA,
      actor: { id: staff.id, label: staff.email, apiTokenId: expect.any(String) },
      diff: { 'settings.release': { before: 'ulmo.1', after: 'sumac.3' } },
    })
    const invited = entries.find((e) => e.action === 'organization.member_invited')!
    expect(invited.actor).toMatchObject({ id: ownerA.id, label: ownerA.email })
    expect(entries.some((e) => e.action === 'organization.member_joined')).toBe(true)
    expect(entries.find((e) => e.action === 'user.created' && e.targetId === inviteeId)?.actor.label).toBe('system:invitation')

    const all = await readAll(staff, { targetId: instB.id })
    expect(all.map((e) => e.action)).toEqual(['instance.archived', 'instance.created'])
    expect(all[0]!.diff).toEqual({ status: { before: 'new', after: 'archived' } })
    expect((await readAll(staff, { targetId: createdOrgId }))[0]).toMatchObject({
      action: 'organization.created',
      targetType: 'organization',
    })
    expect((await readAll(staff, { targetId: apiTokenId })).map((e) => e.action)).toEqual(['api_token.revoked', 'api_token.created'])
  })

  it('never stores a password or a password hash', async () => {
    const account = await getDb().account.findFirstOrThrow({ where: { userId: inviteeId, providerId: 'credential' } })
    expect(account.password).toBeTruthy()
    const rows = await getDb().$queryRaw<{ row: string }[]>`SELECT row_to_json(a)::text AS row FROM audit_entries a`
    expect(rows.length).toBeGreaterThan(10)
    for (const { row } of rows) {
      expect(row).not.toContain(password)
      expect(row).not.toContain(PASSWORD)
      expect(row).not.toContain(account.password!)
      expect(row).not.toMatch(/[0-9a-f]{32}:[0-9a-f]{128}/)
    }
    const created = (await readAll(staff, { targetId: inviteeId })).find((e) => e.action === 'user.created')!
    expect(created.diff.password).toEqual({ after: '[redacted]' })
  })

  it('staff read every organization’s entries', async () => {
    const entries = await readAll(staff, { action: 'instance.' })
    const targets = new Set(entries.map((e) => e.targetId))
    expect(targets.has(instA.id) && targets.has(instB.id)).toBe(true)
  })

  it('an owner reads only their organization’s entries', async () => {
    const entries = await readAll(ownerA)
    expect(entries.length).toBeGreaterThan(0)
    expect(entries.every((e) => e.organizationId === orgA)).toBe(true)
    expect(entries.map((e) => e.targetId)).toContain(instA.id)
    expect(entries.map((e) => e.targetId)).not.toContain(apiTokenId)
    expect(await readAll(ownerA, { organizationId: orgB })).toEqual([])
    expect(await readAll(ownerA, { targetId: instB.id })).toEqual([])
    const b = await readAll(ownerB)
    expect(b.every((e) => e.organizationId === orgB)).toBe(true)
    expect(b.map((e) => e.targetId)).toContain(instB.id)
  })

  it('members and users of no organization get 403; nobody gets 401', async () => {
    expect((await callRoute(audit.GET, { token: memberA.token })).status).toBe(403)
    expect((await callRoute(audit.GET, { token: loner.token })).status).toBe(403)
    expect((await callRoute(audit.GET, {})).status).toBe(401)
  })

  it('filters by action prefix, exact action, target type and actor', async () => {
    const prefixed = await readAll(staff, { organizationId: orgA, action: 'instance.' })
    expect(prefixed.length).toBe(2)
    expect(prefixed.every((e) => e.action.startsWith('instance.'))).toBe(true)
    const exact = await readAll(staff, { organizationId: orgA, action: 'instance.updated' })
    expect(exact.map((e) => e.targetId)).toEqual([instA.id])
    expect(await readAll(staff, { organizationId: orgA, action: 'instance' })).toEqual([])
    const byType = await readAll(staff, { organizationId: orgA, targetType: 'invitation' })
    expect(byType.length).toBeGreaterThanOrEqual(2)
    expect(byType.every((e) => e.targetType === 'invitation')).toBe(true)
    const byActor = await readAll(staff, { actor: ownerA.email.toUpperCase() })
    expect(byActor.length).toBeGreaterThan(0)
    expect(byActor.every((e) => e.actor.label === ownerA.email)).toBe(true)
    expect(await readAll(staff, { actor: '%' })).toEqual([])
  })

  it('pages newest first without duplicates or gaps', async () => {
    const everything = await readAll(staff, { organizationId: orgA })
    const paged: Entry[] = []
    let cursor: string | undefined
    for (let i = 0; i < 100; i++) {
      const res = await callRoute(audit.GET, { token: staff.token, query: { organizationId: orgA, limit: 2, cursor } })
      expect(res.body.items.length).toBeLessThanOrEqual(2)
      paged.push(...res.body.items)
      cursor = res.body.nextCursor ?? undefined
      if (!cursor) break
    }
    expect(paged.map((e) => e.id)).toEqual(everything.map((e) => e.id))
    const times = everything.map((e) => Date.parse((e as unknown as { at: string }).at))
    expect([...times].sort((a, b) => b - a)).toEqual(times)
  })

  it.each([
    ['limit', { limit: 0 }],
    ['limit', { limit: 201 }],
    ['cursor', { cursor: 'junk' }],
    ['organizationId', { organizationId: 'acme' }],
  ])('refuses a bad %s with 400 naming it', async (field, query) => {
    const res = await callRoute(audit.GET, { token: staff.token, query })
    expect(res.status).toBe(400)
    expect(fieldsOf(res.body)).toEqual([field])
  })
})
