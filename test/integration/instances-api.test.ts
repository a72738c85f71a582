import { beforeAll, describe, expect, it } from 'vitest'
import * as instance from '@/app/api/v1/instances/[id]/route'
import * as instances from '@/app/api/v1/instances/route'
import * as slugSuggestion from '@/app/api/v1/instances/slug-suggestion/route'
import * as blueprints from '@/app/api/v1/blueprints/route'
import { getDb } from '@/lib/db/client'
import { callRoute, type JsonBody } from '../support/call-route'
import { createTestOrganization, createTestUser, uniq, type TestUser } from '../support/fixtures'
import { auditOf, createInstanceVia, fieldsOf } from './helpers'

const db = () => getDb()
const countIn = (organizationId: string) => db().instance.count({ where: { organizationId } })

let staff: TestUser
let orgId: string

beforeAll(async () => {
  staff = await createTestUser({ staff: true })
  orgId = (await createTestOrganization()).id
})

describe('POST /api/v1/instances', () => {
  it('derives the slug from the name and fills the defaults', async () => {
    const name = `Université Genève ${uniq()}`
    const res = await callRoute(instances.POST, {
      token: staff.token,
      body: { organizationId: orgId, name, settings: { contactEmail: 'a@b.test' } },
    })
    expect(res.status).toBe(201)
    const slug = name
      .normalize('NFKD')
      .replace(/[\u0300-\u036f]/g, '')
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
    expect(res.body).toMatchObject({
      name,
      slug,
      hostname: `${slug}.hosting.test`,
      blueprint: 'openedx',
      status: 'new',
      version: 1,
      extraSettings: '',
      archivedAt: null,
      organization: { id: orgId },
      settings: {
        release: 'ulmo.1',
        platformName: name,
        contactEmail: 'a@b.test',
        features: {
          allowPublicAccountCreation: true,
          enableCertificates: true,
          enableDiscussions: true,
          enableCourseDiscovery: false,
          enableThirdPartyAuth: false,
        },
      },
    })
    const row = await db().instance.findUniqueOrThrow({ where: { id: res.body.id } })
    expect(row.slug).toBe(slug)
    expect(row.settings).toEqual(res.body.settings)
    const [entry] = await auditOf(res.body.id)
    expect(entry).toMatchObject({ action: 'instance.created', actorId: staff.id, targetType: 'instance', organizationId: orgId })
    expect(entry!.diff).toMatchObject({ slug: { after: slug }, settings: { after: res.body.settings } })
  })

  it('uses an explicit slug and settings over the defaults', async () => {
    const slug = `explicit-${uniq()}`
    const res = await callRoute(instances.POST, {
      token: staff.token,
      body: {
        organizationId: orgId,
        name: 'Some Name',
        slug,
        settings: { contactEmail: 'x@y.test', release: 'teak.2', platformName: 'Shown', features: { enableCourseDiscovery: true } },
        extraSettings: '# ours\nFOO: 1\n',
      },
    })
    expect(res.status).toBe(201)
    expect(res.body).toMatchObject({ slug, hostname: `${slug}.hosting.test`, extraSettings: '# ours\nFOO: 1\n' })
    expect(res.body.settings).toMatchObject({
      release: 'teak.2',
      platformName: 'Shown',
      features: { enableCourseDiscovery: true, enableCertificates: true },
    })
  })

  it('refuses a duplicate slug with 409 naming slug, and writes nothing', async () => {
    const first = await createInstanceVia(staff.token, orgId)
    const before = await countIn(orgId)
    const res = await callRoute(instances.POST, {
      token: staff.token,
      body: { organizationId: orgId, name: 'Dup', slug: first.slug, settings: { contactEmail: 'a@b.test' } },
    })
    expect(res.status).toBe(409)
    expect(res.body.error.code).toBe('conflict')
    expect(fieldsOf(res.body)).toEqual(['slug'])
    expect(await countIn(orgId)).toBe(before)
  })

  it('refuses a duplicate derived slug too', async () => {
    const name = `Derived ${uniq()}`
    await createInstanceVia(staff.token, orgId, { name })
    const res = await callRoute(instances.POST, {
      token: staff.token,
      body: { organizationId: orgId, name, settings: { contactEmail: 'a@b.test' } },
    })
    expect(res.status).toBe(409)
    expect(fieldsOf(res.body)).toEqual(['slug'])
  })

  const bad: [string, Record<string, unknown>, string][] = [
    ['a reserved slug', { slug: 'admin' }, 'slug'],
    ['an invalid slug', { slug: 'Not A Slug' }, 'slug'],
    ['a slug with a trailing hyphen', { slug: 'abc-' }, 'slug'],
    ['a 64-character slug', { slug: 'a'.repeat(64) }, 'slug'],
    ['a blank slug', { slug: '   ' }, 'slug'],
    ['a name that yields no slug', { name: '!!!', slug: undefined }, 'slug'],
    ['a missing name', { name: undefined }, 'name'],
    ['a blank name', { name: '  ' }, 'name'],
    ['a long name', { name: 'n'.repeat(101) }, 'name'],
    ['a missing organization', { organizationId: undefined }, 'organizationId'],
    ['a malformed organization id', { organizationId: 'org-1' }, 'organizationId'],
    ['an organization that does not exist', { organizationId: '00000000-0000-7000-8000-000000000000' }, 'organizationId'],
    ['an unknown blueprint', { blueprint: 'wordpress' }, 'blueprint'],
    ['a missing contact email', { settings: {} }, 'settings.contactEmail'],
    ['a bad contact email', { settings: { contactEmail: 'nope' } }, 'settings.contactEmail'],
    ['an unknown release', { settings: { contactEmail: 'a@b.test', release: 'zebra.1' } }, 'settings.release'],
    ['an unknown setting', { settings: { contactEmail: 'a@b.test', colour: 'red' } }, 'settings.colour'],
    ['settings that are not an object', { settings: ['a'] }, 'settings'],
    ['extra settings that are a list', { extraSettings: '- a\n- b\n' }, 'extraSettings'],
    ['extra settings that are not YAML', { extraSettings: 'a: [1\n' }, 'extraSettings'],
    ['extra settings with duplicate keys', { extraSettings: 'a: 1\na: 2\n' }, 'extraSettings'],
    ['an unknown field', { colour: 'red' }, 'colour'],
  ]

  it.each(bad)('refuses %s with 400 naming %s, writing nothing', async (_label, override, field) => {
    const slug = `bad-${uniq()}`
    const before = await countIn(orgId)
    const body = { organizationId: orgId, name: 'Bad Input', slug, settings: { contactEmail: 'a@b.test' }, ...override }
    const res = await callRoute(instances.POST, { token: staff.token, body })
    expect(res.status, JSON.stringify(res.body)).toBe(400)
    expect(res.body.error.code).toBe('invalid_input')
    expect(fieldsOf(res.body)).toContain(field)
    expect(await countIn(orgId)).toBe(before)
    expect(await db().instance.count({ where: { slug } })).toBe(0)
  })

  it('reports every bad field of one request', async () => {
    const res = await callRoute(instances.POST, {
      token: staff.token,
      body: { organizationId: orgId, name: 'Many', slug: 'www', settings: { contactEmail: 'x' }, extraSettings: '- a' },
    })
    expect(res.status).toBe(400)
    expect(fieldsOf(res.body).sort()).toEqual(['extraSettings', 'settings.contactEmail', 'slug'])
  })

  it('refuses a body that is not JSON', async () => {
    const res = await callRoute(instances.POST, { token: staff.token, headers: { 'content-type': 'text/plain' } })
    expect(res.status).toBe(400)
    expect(fieldsOf(res.body)).toEqual(['body'])
  })
})

describe('GET /api/v1/instances/{id}', () => {
  it('reads an instance', async () => {
    const created = await createInstanceVia(staff.token, orgId)
    const res = await callRoute(instance.GET, { token: staff.token, params: { id: created.id } })
    expect(res.status).toBe(200)
    expect(res.body).toEqual(created)
  })

  it.each(['not-a-uuid', '00000000-0000-7000-8000-000000000000'])('answers 404 for %s', async (id) => {
    const res = await callRoute(instance.GET, { token: staff.token, params: { id } })
    expect(res.status).toBe(404)
    expect(res.body.error.code).toBe('not_found')
  })
})

describe('GET /api/v1/instances', () => {
  let org: string
  let alpha: JsonBody
  let beta: JsonBody
  let archived: JsonBody
  const tag = uniq()

  beforeAll(async () => {
    org = (await createTestOrganization()).id
    alpha = await createInstanceVia(staff.token, org, { name: `Alpha Campus ${tag}` })
    beta = await createInstanceVia(staff.token, org, { name: `Beta School`, slug: `beta-${tag}-xyz` })
    archived = await createInstanceVia(staff.token, org, { name: `Gamma ${tag}` })
    const del = await callRoute(instance.DELETE, { token: staff.token, params: { id: archived.id }, query: { confirm: archived.slug } })
    expect(del.status).toBe(200)
  })

  const ids = (body: JsonBody) => (body.items as { id: string }[]).map((i) => i.id)

  it('filters by organization, newest first', async () => {
    const res = await callRoute(instances.GET, { token: staff.token, query: { organizationId: org } })
    expect(res.status).toBe(200)
    expect(ids(res.body)).toEqual([archived.id, beta.id, alpha.id])
    expect(res.body.nextCursor).toBeNull()
  })

  it('searches name and slug, ignoring case', async () => {
    const byName = await callRoute(instances.GET, { token: staff.token, query: { organizationId: org, q: 'aLPHA cAMPUS' } })
    expect(ids(byName.body)).toEqual([alpha.id])
    const bySlug = await callRoute(instances.GET, { token: staff.token, query: { q: `BETA-${tag.toUpperCase()}-X` } })
    expect(ids(bySlug.body)).toEqual([beta.id])
    const both = await callRoute(instances.GET, { token: staff.token, query: { organizationId: org, q: tag } })
    expect(ids(both.body).sort()).toEqual([alpha.id, beta.id, archived.id].sort())
    const none = await callRoute(instances.GET, { token: staff.token, query: { organizationId: org, q: 'no-such-thing' } })
    expect(none.body.items).toEqual([])
  })

  it('treats search wildcards literally', async () => {
    const res = await callRoute(instances.GET, { token: staff.token, query: { organizationId: org, q: '%' } })
    expect(res.body.items).toEqual([])
    const underscore = await callRoute(instances.GET, { token: staff.token, query: { organizationId: org, q: '_' } })
    expect(underscore.body.items).toEqual([])
    const backslash = await callRoute(instances.GET, { token: staff.token, query: { organizationId: org, q: '\\' } })
    expect(backslash.body.items).toEqual([])
    const hyphen = await callRoute(instances.GET, { token: staff.token, query: { organizationId: org, q: `${tag}-xyz` } })
    expect(ids(hyphen.body)).toEqual([beta.id])
  })

  it('filters by status and blueprint', async () => {
    const archivedOnly = await callRoute(instances.GET, { token: staff.token, query: { organizationId: org, status: 'archived' } })
    expect(ids(archivedOnly.body)).toEqual([archived.id])
    const fresh = await callRoute(instances.GET, { token: staff.token, query: { organizationId: org, status: 'new' } })
    expect(ids(fresh.body)).toEqual([beta.id, alpha.id])
    const openedx = await callRoute(instances.GET, { token: staff.token, query: { organizationId: org, blueprint: 'openedx' } })
    expect(ids(openedx.body)).toHaveLength(3)
  })

  it.each([
    ['limit', { limit: 0 }],
    ['limit', { limit: 101 }],
    ['limit', { limit: 'many' }],
    ['cursor', { cursor: 'garbage' }],
    ['cursor', { cursor: 'x'.repeat(201) }],
    ['status', { status: 'deleted' }],
    ['blueprint', { blueprint: 'moodle' }],
    ['organizationId', { organizationId: 'acme' }],
    ['q', { q: 'q'.repeat(101) }],
  ])('refuses a bad %s with 400 naming it', async (field, query) => {
    const res = await callRoute(instances.GET, { token: staff.token, query })
    expect(res.status).toBe(400)
    expect(fieldsOf(res.body)).toEqual([field])
  })

  it('walks 120 instances in pages of 50 without duplicates or gaps, ties included', async () => {
    const bigOrg = (await createTestOrganization()).id
    const base = Date.now() - 3_600_000
    const rows = Array.from({ length: 120 }, (_, i) => ({
      organizationId: bigOrg,
      name: `Paged ${i}`,
      slug: `paged-${uniq()}-${i}`,
      blueprint: 'openedx' as const,
      settings: { release: 'ulmo.1', platformName: `Paged ${i}`, contactEmail: 'a@b.test' },
      // groups of seven share one timestamp, so the id has to break ties
      createdAt: new Date(base + Math.floor(i / 7) * 1000),
    }))
    await db().instance.createMany({ data: rows })
    const expected = await db().instance.findMany({ where: { organizationId: bigOrg }, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] })

    const seen: string[] = []
    const pageSizes: number[] = []
    let cursor: string | undefined
    for (let page = 0; page < 10; page++) {
      const res = await callRoute(instances.GET, { token: staff.token, query: { organizationId: bigOrg, limit: 50, cursor } })
      expect(res.status).toBe(200)
      pageSizes.push(res.body.items.length)
      seen.push(...ids(res.body))
      cursor = res.body.nextCursor ?? undefined
      if (!cursor) break
    }
    expect(pageSizes).toEqual([50, 50, 20])
    expect(new Set(seen).size).toBe(120)
    expect(seen).toEqual(expected.map((r) => r.id))
  })
})

describe('PATCH /api/v1/instances/{id}', () => {
  it('updates the name and deep-merges settings, bumping the version', async () => {
    const created = await createInstanceVia(staff.token, orgId, {
      settings: { contactEmail: 'a@b.test', features: { enableDiscussions: false } },
    })
    const res = await callRoute(instance.PATCH, {
      token: staff.token,
      params: { id: created.id },
      body: { version: 1, name: 'Renamed', settings: { release: 'teak.2', features: { enableCourseDiscovery: true } } },
    })
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ name: 'Renamed', version: 2, slug: created.slug })
    expect(res.body.settings).toEqual({
      ...created.settings,
      release: 'teak.2',
      features: { ...created.settings.features, enableDiscussions: false, enableCourseDiscovery: true },
    })
    const entries = await auditOf(created.id)
    expect(entries.map((e) => e.action)).toEqual(['instance.created', 'instance.updated'])
    expect(entries[1]!.diff).toEqual({
      name: { before: created.name, after: 'Renamed' },
      'settings.release': { before: 'ulmo.1', after: 'teak.2' },
      'settings.features.enableCourseDiscovery': { before: false, after: true },
    })
  })

  it('refuses a stale version with 409 carrying the current instance', async () => {
    const created = await createInstanceVia(staff.token, orgId)
    const first = await callRoute(instance.PATCH, { token: staff.token, params: { id: created.id }, body: { version: 1, name: 'First' } })
    expect(first.status).toBe(200)
    const stale = await callRoute(instance.PATCH, { token: staff.token, params: { id: created.id }, body: { version: 1, name: 'Second' } })
    expect(stale.status).toBe(409)
    expect(stale.body.error.code).toBe('conflict')
    expect(stale.body.error.current).toEqual(first.body)
    const now = await callRoute(instance.GET, { token: staff.token, params: { id: created.id } })
    expect(now.body.name).toBe('First')
    expect(now.body.version).toBe(2)
  })

  it('lets exactly one of two concurrent updates of one version win', async () => {
    const created = await createInstanceVia(staff.token, orgId)
    const results = await Promise.all(
      ['Left', 'Right'].map((name) =>
        callRoute(instance.PATCH, { token: staff.token, params: { id: created.id }, body: { version: 1, name } }),
      ),
    )
    expect(results.map((r) => r.status).sort()).toEqual([200, 409])
    const winner = results.find((r) => r.status === 200)!
    const loser = results.find((r) => r.status === 409)!
    expect(loser.body.error.current).toMatchObject({ version: 2, name: winner.body.name })
    const row = await db().instance.findUniqueOrThrow({ where: { id: created.id } })
    expect(row.version).toBe(2)
    expect(row.name).toBe(winner.body.name)
    expect((await auditOf(created.id)).filter((e) => e.action === 'instance.updated')).toHaveLength(1)
  })

  it.each([
    ['version', { name: 'x' }],
    ['version', { version: 0 }],
    ['version', { version: '1' }],
    ['version', { version: 1.5 }],
    ['name', { version: 1, name: '' }],
    ['settings.contactEmail', { version: 1, settings: { contactEmail: 'broken' } }],
    ['settings.release', { version: 1, settings: { release: 'old.0' } }],
    ['settings.features.enableWiki', { version: 1, settings: { features: { enableWiki: true } } }],
    ['extraSettings', { version: 1, extraSettings: '[1, 2]' }],
    ['slug', { version: 1, slug: 'renamed' }],
  ])('refuses a bad %s with 400, changing nothing', async (field, body) => {
    const created = await createInstanceVia(staff.token, orgId)
    const res = await callRoute(instance.PATCH, { token: staff.token, params: { id: created.id }, body })
    expect(res.status, JSON.stringify(res.body)).toBe(400)
    expect(fieldsOf(res.body)).toEqual([field])
    const after = await callRoute(instance.GET, { token: staff.token, params: { id: created.id } })
    expect(after.body).toEqual(created)
    expect(await auditOf(created.id)).toHaveLength(1)
  })

  it('refuses to edit an archived instance with 409', async () => {
    const created = await createInstanceVia(staff.token, orgId)
    const del = await callRoute(instance.DELETE, { token: staff.token, params: { id: created.id }, query: { confirm: created.slug } })
    expect(del.status).toBe(200)
    const res = await callRoute(instance.PATCH, {
      token: staff.token,
      params: { id: created.id },
      body: { version: del.body.version, name: 'Nope' },
    })
    expect(res.status).toBe(409)
    expect((await db().instance.findUniqueOrThrow({ where: { id: created.id } })).name).toBe(created.name)
  })

  it('answers 404 for an instance that does not exist', async () => {
    const res = await callRoute(instance.PATCH, {
      token: staff.token,
      params: { id: '00000000-0000-7000-8000-000000000000' },
      body: { version: 1, name: 'x' },
    })
    expect(res.status).toBe(404)
  })
})

describe('DELETE /api/v1/instances/{id} (archive)', () => {
  it('refuses a wrong or missing confirmation with 400 naming confirm, changing nothing', async () => {
    const created = await createInstanceVia(staff.token, orgId)
    for (const query of [{ confirm: 'wrong' }, { confirm: created.slug.toUpperCase() }, {}]) {
      const res = await callRoute(instance.DELETE, { token: staff.token, params: { id: created.id }, query })
      expect(res.status).toBe(400)
      expect(fieldsOf(res.body)).toEqual(['confirm'])
    }
    const row = await db().instance.findUniqueOrThrow({ where: { id: created.id } })
    expect(row).toMatchObject({ status: 'new', archivedAt: null, version: 1 })
  })

  it('archives with the right confirmation, once', async () => {
    const created = await createInstanceVia(staff.token, orgId)
    const res = await callRoute(instance.DELETE, { token: staff.token, params: { id: created.id }, query: { confirm: created.slug } })
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ id: created.id, status: 'archived', version: 2 })
    expect(Date.parse(res.body.archivedAt)).not.toBeNaN()
    const again = await callRoute(instance.DELETE, { token: staff.token, params: { id: created.id }, query: { confirm: created.slug } })
    expect(again.status).toBe(409)
    expect(again.body.error.current).toMatchObject({ status: 'archived', version: 2 })
    const entries = await auditOf(created.id)
    expect(entries.map((e) => e.action)).toEqual(['instance.created', 'instance.archived'])
    expect(entries[1]!.diff).toEqual({ status: { before: 'new', after: 'archived' } })
  })
})

describe('concurrent archives', () => {
  it('archive an instance exactly once', async () => {
    const created = await createInstanceVia(staff.token, orgId)
    const results = await Promise.all(
      [1, 2, 3].map(() => callRoute(instance.DELETE, { token: staff.token, params: { id: created.id }, query: { confirm: created.slug } })),
    )
    expect(results.map((r) => r.status).sort()).toEqual([200, 409, 409])
    const row = await db().instance.findUniqueOrThrow({ where: { id: created.id } })
    expect(row).toMatchObject({ status: 'archived', version: 2 })
    expect((await auditOf(created.id)).filter((e) => e.action === 'instance.archived')).toHaveLength(1)
  })
})

describe('GET /api/v1/instances/slug-suggestion', () => {
  it('suggests the slug of a name, skipping taken ones', async () => {
    const name = `Suggest Me ${uniq()}`
    const first = await callRoute(slugSuggestion.GET, { token: staff.token, query: { name } })
    expect(first.status).toBe(200)
    const base = first.body.slug as string
    expect(first.body).toEqual({ slug: base, available: true, problem: null })
    await createInstanceVia(staff.token, orgId, { name })
    const second = await callRoute(slugSuggestion.GET, { token: staff.token, query: { name } })
    expect(second.body).toEqual({ slug: `${base}-2`, available: true, problem: null })
  })

  it('checks an explicit slug', async () => {
    const taken = await createInstanceVia(staff.token, orgId)
    expect((await callRoute(slugSuggestion.GET, { token: staff.token, query: { slug: taken.slug } })).body).toEqual({
      slug: taken.slug,
      available: false,
      problem: 'is already taken',
    })
    expect((await callRoute(slugSuggestion.GET, { token: staff.token, query: { slug: 'api' } })).body).toEqual({
      slug: 'api',
      available: false,
      problem: 'is reserved',
    })
    const free = `free-${uniq()}`
    expect((await callRoute(slugSuggestion.GET, { token: staff.token, query: { slug: free } })).body).toEqual({
      slug: free,
      available: true,
      problem: null,
    })
  })

  it('suggests a free variant of a reserved name', async () => {
    const res = await callRoute(slugSuggestion.GET, { token: staff.token, query: { name: 'Studio' } })
    expect(res.status).toBe(200)
    expect(res.body.slug).toMatch(/^studio-\d+$/)
    expect(res.body.problem).toBeNull()
  })

  it('refuses a too-long name with 400 naming it', async () => {
    const res = await callRoute(slugSuggestion.GET, { token: staff.token, query: { name: 'n'.repeat(101) } })
    expect(res.status).toBe(400)
    expect(fieldsOf(res.body)).toEqual(['name'])
  })
})

describe('GET /api/v1/blueprints', () => {
  it('lists the blueprints with the JSON Schema of their settings', async () => {
    const client = await createTestUser({ organizationId: orgId })
    const res = await callRoute(blueprints.GET, { token: client.token })
    expect(res.status).toBe(200)
    expect(res.body.items.map((b: { id: string }) => b.id)).toEqual(['openedx'])
    const schema = res.body.items[0].settingsSchema
    expect(schema.type).toBe('object')
    expect(schema.required).toEqual(expect.arrayContaining(['release', 'platformName', 'contactEmail']))
    expect(schema.properties.release.enum).toEqual(['redwood.3', 'sumac.3', 'teak.2', 'ulmo.1'])
    expect(schema.additionalProperties).toBe(false)
    expect((await callRoute(blueprints.GET, {})).status).toBe(401)
  })
})
