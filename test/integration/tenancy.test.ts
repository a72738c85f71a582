import { beforeAll, describe, expect, it } from 'vitest'
import * as instance from '@/app/api/v1/instances/[id]/route'
import * as instances from '@/app/api/v1/instances/route'
import * as slugSuggestion from '@/app/api/v1/instances/slug-suggestion/route'
import { getDb } from '@/lib/db/client'
import { callRoute, type JsonBody } from '../support/call-route'
import { createTestOrganization, createTestUser, type TestUser } from '../support/fixtures'
import { createInstanceVia } from './helpers'

/**
 * Every instance endpoint, asked by someone who may not do what they ask: another organization's client
 * (who must not learn the instance exists), a member and an owner of the instance's own organization
 * (who may read but not change), and nobody at all.
 */
let staff: TestUser
let memberA: TestUser
let ownerA: TestUser
let clientB: TestUser
let ownerB: TestUser
let orgA: string
let orgB: string
let instA: JsonBody
let instB: JsonBody

const snapshot = (id: string) => getDb().instance.findUniqueOrThrow({ where: { id } })

beforeAll(async () => {
  ;[orgA, orgB] = (await Promise.all([createTestOrganization(), createTestOrganization()])).map((o) => o.id) as [string, string]
  ;[staff, memberA, ownerA, clientB, ownerB] = await Promise.all([
    createTestUser({ staff: true }),
    createTestUser({ organizationId: orgA, role: 'member' }),
    createTestUser({ organizationId: orgA, role: 'owner' }),
    createTestUser({ organizationId: orgB, role: 'member' }),
    createTestUser({ organizationId: orgB, role: 'owner' }),
  ])
  instA = await createInstanceVia(staff.token, orgA)
  instB = await createInstanceVia(staff.token, orgB)
})

const who = () => ({ 'a client of another organization': clientB, 'an owner of another organization': ownerB }) as Record<string, TestUser>

describe.each(['a client of another organization', 'an owner of another organization'])('%s', (label) => {
  it('gets 404 reading the instance', async () => {
    const res = await callRoute(instance.GET, { token: who()[label]!.token, params: { id: instA.id } })
    expect(res.status).toBe(404)
    expect(JSON.stringify(res.body)).not.toContain(instA.slug)
  })

  it('gets 404 updating the instance, which stays unchanged', async () => {
    const before = await snapshot(instA.id)
    const res = await callRoute(instance.PATCH, {
      token: who()[label]!.token,
      params: { id: instA.id },
      body: { version: 1, name: 'Hijacked' },
    })
    expect(res.status).toBe(404)
    expect(await snapshot(instA.id)).toEqual(before)
  })

  it('gets 404 archiving the instance, which stays unchanged', async () => {
    const before = await snapshot(instA.id)
    const res = await callRoute(instance.DELETE, { token: who()[label]!.token, params: { id: instA.id }, query: { confirm: instA.slug } })
    expect(res.status).toBe(404)
    expect(await snapshot(instA.id)).toEqual(before)
  })

  it('never sees the instance in lists, even when filtering by its organization', async () => {
    const token = who()[label]!.token
    const all = await callRoute(instances.GET, { token, query: { limit: 100 } })
    expect(all.status).toBe(200)
    const listed = (all.body.items as { id: string; organization: { id: string } }[]).map((i) => i.organization.id)
    expect(listed.every((o) => o === orgB)).toBe(true)
    expect(listed.length).toBeGreaterThan(0)
    const filtered = await callRoute(instances.GET, { token, query: { organizationId: orgA } })
    expect(filtered.status).toBe(200)
    expect(filtered.body.items).toEqual([])
    const searched = await callRoute(instances.GET, { token, query: { q: instA.slug } })
    expect(searched.body.items).toEqual([])
  })

  it('cannot create an instance in it (403) or probe its slugs', async () => {
    const token = who()[label]!.token
    const before = await getDb().instance.count({ where: { organizationId: orgA } })
    const res = await callRoute(instances.POST, {
      token,
      body: { organizationId: orgA, name: 'Sneaky', settings: { contactEmail: 'a@b.test' } },
    })
    expect(res.status).toBe(403)
    expect(await getDb().instance.count({ where: { organizationId: orgA } })).toBe(before)
    const probe = await callRoute(slugSuggestion.GET, { token, query: { slug: instA.slug } })
    expect(probe.status).toBe(403)
  })
})

describe.each(['member', 'owner'])('a client %s of the instance’s own organization', (role) => {
  const user = () => (role === 'owner' ? ownerA : memberA)

  it('reads the instance and sees only its organization in lists', async () => {
    const res = await callRoute(instance.GET, { token: user().token, params: { id: instA.id } })
    expect(res.status).toBe(200)
    expect(res.body.id).toBe(instA.id)
    const list = await callRoute(instances.GET, { token: user().token })
    const ids = (list.body.items as { id: string; organization: { id: string } }[]).map((i) => i.id)
    expect(ids).toContain(instA.id)
    expect(ids).not.toContain(instB.id)
  })

  it('cannot create (403)', async () => {
    const before = await getDb().instance.count({ where: { organizationId: orgA } })
    const res = await callRoute(instances.POST, {
      token: user().token,
      body: { organizationId: orgA, name: 'Own Org', settings: { contactEmail: 'a@b.test' } },
    })
    expect(res.status).toBe(403)
    expect(res.body.error.code).toBe('forbidden')
    expect(await getDb().instance.count({ where: { organizationId: orgA } })).toBe(before)
  })

  it('cannot update (403), and nothing changes', async () => {
    const before = await snapshot(instA.id)
    const res = await callRoute(instance.PATCH, {
      token: user().token,
      params: { id: instA.id },
      body: { version: before.version, name: 'Changed', settings: { contactEmail: 'evil@example.test' } },
    })
    expect(res.status).toBe(403)
    expect(await snapshot(instA.id)).toEqual(before)
  })

  it('cannot archive (403), and nothing changes', async () => {
    const before = await snapshot(instA.id)
    const res = await callRoute(instance.DELETE, { token: user().token, params: { id: instA.id }, query: { confirm: instA.slug } })
    expect(res.status).toBe(403)
    expect(await snapshot(instA.id)).toEqual(before)
  })

  it('cannot ask for slug suggestions (403)', async () => {
    const res = await callRoute(slugSuggestion.GET, { token: user().token, query: { name: 'x' } })
    expect(res.status).toBe(403)
  })
})

describe('without credentials', () => {
  const calls = (): [string, () => Promise<{ status: number; body: JsonBody }>][] => [
    ['GET /instances', () => callRoute(instances.GET, {})],
    [
      'POST /instances',
      () => callRoute(instances.POST, { body: { organizationId: orgA, name: 'Anon', settings: { contactEmail: 'a@b.test' } } }),
    ],
    ['GET /instances/{id}', () => callRoute(instance.GET, { params: { id: instA.id } })],
    ['PATCH /instances/{id}', () => callRoute(instance.PATCH, { params: { id: instA.id }, body: { version: 1, name: 'Anon' } })],
    ['DELETE /instances/{id}', () => callRoute(instance.DELETE, { params: { id: instA.id }, query: { confirm: instA.slug } })],
    ['GET /instances/slug-suggestion', () => callRoute(slugSuggestion.GET, { query: { name: 'x' } })],
  ]

  it('every endpoint answers 401', async () => {
    const before = await snapshot(instA.id)
    for (const [label, call] of calls()) {
      const res = await call()
      expect(res.status, label).toBe(401)
      expect(res.body.error.code, label).toBe('unauthenticated')
    }
    expect(await snapshot(instA.id)).toEqual(before)
  })

  it.each(['tnn_not-a-real-token', 'garbage', ''])('a bad token (%j) is 401 too', async (token) => {
    const res = await callRoute(instances.GET, { headers: { authorization: `Bearer ${token}` } })
    expect(res.status).toBe(401)
  })

  it('a bad session cookie is 401', async () => {
    const res = await callRoute(instances.GET, { cookie: 'better-auth.session_token=forged.value' })
    expect(res.status).toBe(401)
  })
})

describe('staff', () => {
  it('see both organizations’ instances', async () => {
    for (const inst of [instA, instB]) {
      const res = await callRoute(instance.GET, { token: staff.token, params: { id: inst.id } })
      expect(res.status).toBe(200)
    }
  })
})
