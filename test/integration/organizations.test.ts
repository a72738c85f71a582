import { beforeAll, describe, expect, it } from 'vitest'
import * as members from '@/app/api/v1/organizations/[id]/members/route'
import * as organization from '@/app/api/v1/organizations/[id]/route'
import * as organizations from '@/app/api/v1/organizations/route'
import { getDb } from '@/lib/db/client'
import { callRoute } from '../support/call-route'
import { createTestOrganization, createTestUser, uniq, type TestUser } from '../support/fixtures'
import { auditOf, createInstanceVia, fieldsOf } from './helpers'

let staff: TestUser
let ownerA: TestUser
let memberA: TestUser
let clientB: TestUser
let orgA: string
let orgB: string

beforeAll(async () => {
  ;[orgA, orgB] = (await Promise.all([createTestOrganization(), createTestOrganization()])).map((o) => o.id) as [string, string]
  ;[staff, ownerA, memberA, clientB] = await Promise.all([
    createTestUser({ staff: true }),
    createTestUser({ organizationId: orgA, role: 'owner' }),
    createTestUser({ organizationId: orgA, role: 'member' }),
    createTestUser({ organizationId: orgB, role: 'member' }),
  ])
})

describe('POST /api/v1/organizations', () => {
  it('staff create an organization, its slug derived from the name, audited', async () => {
    const name = `Acme Ünïversity ${uniq()}`
    const res = await callRoute(organizations.POST, { token: staff.token, body: { name } })
    expect(res.status).toBe(201)
    expect(res.body).toMatchObject({ name, slug: expect.stringMatching(/^acme-university-[0-9a-f]{8}$/), instanceCount: 0, memberCount: 0 })
    const [entry] = await auditOf(res.body.id)
    expect(entry).toMatchObject({ action: 'organization.created', actorId: staff.id, organizationId: res.body.id })
    expect(entry!.diff).toEqual({ name: { after: name }, slug: { after: res.body.slug } })
  })

  it('takes an explicit slug and refuses a duplicate with 409 naming slug', async () => {
    const slug = `explicit-org-${uniq()}`
    expect((await callRoute(organizations.POST, { token: staff.token, body: { name: 'One', slug } })).status).toBe(201)
    const before = await getDb().organization.count()
    const dup = await callRoute(organizations.POST, { token: staff.token, body: { name: 'Two', slug } })
    expect(dup.status).toBe(409)
    expect(fieldsOf(dup.body)).toEqual(['slug'])
    expect(await getDb().organization.count({ where: { slug } })).toBe(1)
    expect(await getDb().organization.count()).toBeGreaterThanOrEqual(before)
  })

  it.each([
    ['name', {}],
    ['name', { name: '   ' }],
    ['name', { name: 'x'.repeat(101) }],
    ['slug', { name: 'Fine', slug: 'Not Valid' }],
    ['slug', { name: 'Fine', slug: 'console' }],
    ['slug', { name: '???' }],
    ['website', { name: 'Fine', website: 'x' }],
  ])('refuses a bad %s with 400 naming it', async (field, body) => {
    const res = await callRoute(organizations.POST, { token: staff.token, body })
    expect(res.status).toBe(400)
    expect(fieldsOf(res.body)).toEqual([field])
  })

  it('clients cannot create organizations (403); nobody signed in gets 401', async () => {
    const slug = `client-made-${uniq()}`
    expect((await callRoute(organizations.POST, { token: ownerA.token, body: { name: 'Mine', slug } })).status).toBe(403)
    expect((await callRoute(organizations.POST, { body: { name: 'Mine', slug } })).status).toBe(401)
    expect(await getDb().organization.count({ where: { slug } })).toBe(0)
  })
})

describe('GET /api/v1/organizations', () => {
  it('staff list every organization, with search', async () => {
    const res = await callRoute(organizations.GET, { token: staff.token, query: { limit: 100 } })
    expect(res.status).toBe(200)
    const a = await getDb().organization.findUniqueOrThrow({ where: { id: orgA } })
    const found = await callRoute(organizations.GET, { token: staff.token, query: { q: a.slug.toUpperCase() } })
    expect(found.body.items.map((o: { id: string }) => o.id)).toEqual([orgA])
  })

  it('clients list only their own organization', async () => {
    for (const [user, org] of [
      [ownerA, orgA],
      [memberA, orgA],
      [clientB, orgB],
    ] as const) {
      const res = await callRoute(organizations.GET, { token: user.token })
      expect(res.status).toBe(200)
      expect(res.body.items.map((o: { id: string }) => o.id)).toEqual([org])
      expect(res.body.nextCursor).toBeNull()
    }
  })

  it('pages with a cursor and refuses a bad one', async () => {
    const page1 = await callRoute(organizations.GET, { token: staff.token, query: { limit: 1 } })
    expect(page1.body.items).toHaveLength(1)
    expect(page1.body.nextCursor).toEqual(expect.any(String))
    const page2 = await callRoute(organizations.GET, { token: staff.token, query: { limit: 1, cursor: page1.body.nextCursor } })
    expect(page2.body.items).toHaveLength(1)
    expect(page2.body.items[0].id).not.toBe(page1.body.items[0].id)
    const bad = await callRoute(organizations.GET, { token: staff.token, query: { cursor: 'nope' } })
    expect(bad.status).toBe(400)
    expect(fieldsOf(bad.body)).toEqual(['cursor'])
  })
})

describe('GET /api/v1/organizations/{id}', () => {
  it('members read their organization, with counts', async () => {
    const org = (await createTestOrganization()).id
    const owner = await createTestUser({ organizationId: org, role: 'owner' })
    await createInstanceVia(staff.token, org)
    const res = await callRoute(organization.GET, { token: owner.token, params: { id: org } })
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ id: org, instanceCount: 1, memberCount: 1 })
  })

  it('another organization is 404 for a client, readable for staff', async () => {
    expect((await callRoute(organization.GET, { token: clientB.token, params: { id: orgA } })).status).toBe(404)
    expect((await callRoute(organization.GET, { token: ownerA.token, params: { id: orgB } })).status).toBe(404)
    expect((await callRoute(organization.GET, { token: staff.token, params: { id: orgA } })).status).toBe(200)
  })

  it.each(['not-a-uuid', '00000000-0000-7000-8000-000000000000'])('%s is 404', async (id) => {
    expect((await callRoute(organization.GET, { token: staff.token, params: { id } })).status).toBe(404)
  })
})

describe('GET /api/v1/organizations/{id}/members', () => {
  it('members and staff list the members', async () => {
    for (const user of [memberA, ownerA, staff]) {
      const res = await callRoute(members.GET, { token: user.token, params: { id: orgA } })
      expect(res.status).toBe(200)
      const byEmail = Object.fromEntries((res.body.items as { email: string; role: string }[]).map((m) => [m.email, m.role]))
      expect(byEmail).toEqual({ [ownerA.email]: 'owner', [memberA.email]: 'member' })
    }
  })

  it('another organization’s members are 404', async () => {
    const res = await callRoute(members.GET, { token: clientB.token, params: { id: orgA } })
    expect(res.status).toBe(404)
    expect(JSON.stringify(res.body)).not.toContain(ownerA.email)
    expect((await callRoute(members.GET, { token: ownerA.token, params: { id: 'junk' } })).status).toBe(404)
    expect((await callRoute(members.GET, { params: { id: orgA } })).status).toBe(401)
  })
})
