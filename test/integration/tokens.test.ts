import { createHash } from 'node:crypto'
import { beforeAll, describe, expect, it } from 'vitest'
import * as me from '@/app/api/v1/me/route'
import * as token from '@/app/api/v1/tokens/[id]/route'
import * as tokens from '@/app/api/v1/tokens/route'
import { getDb } from '@/lib/db/client'
import { callRoute } from '../support/call-route'
import { createTestOrganization, createTestUser, type TestUser } from '../support/fixtures'
import { auditOf, fieldsOf, waitFor } from './helpers'

let staff: TestUser
let alice: TestUser
let bob: TestUser

beforeAll(async () => {
  const org = (await createTestOrganization()).id
  ;[staff, alice, bob] = await Promise.all([
    createTestUser({ staff: true }),
    createTestUser({ organizationId: org, role: 'owner' }),
    createTestUser({ organizationId: org, role: 'member' }),
  ])
})

async function createToken(user: TestUser, name = 'ci') {
  const res = await callRoute(tokens.POST, { token: user.token, body: { name } })
  expect(res.status).toBe(201)
  return res.body as { token: string; apiToken: { id: string; prefix: string; name: string } }
}

describe('API tokens', () => {
  it('are returned once at creation; only their SHA-256 is stored', async () => {
    const created = await createToken(alice, 'deploy script')
    expect(created.token).toMatch(/^tnn_[A-Za-z0-9_-]{43}$/)
    expect(created.apiToken).toMatchObject({
      name: 'deploy script',
      prefix: created.token.slice(0, 10),
      owner: { id: alice.id, email: alice.email },
      revokedAt: null,
    })
    const rows = await getDb().$queryRaw<Record<string, unknown>[]>`SELECT * FROM api_tokens WHERE id = ${created.apiToken.id}::uuid`
    expect(rows).toHaveLength(1)
    expect(rows[0]!.token_hash).toBe(createHash('sha256').update(created.token).digest('hex'))
    expect(JSON.stringify(rows[0])).not.toContain(created.token.slice(10))
    const [entry] = await auditOf(created.apiToken.id)
    expect(entry).toMatchObject({ action: 'api_token.created', actorId: alice.id, apiTokenId: expect.any(String) })
    expect(JSON.stringify(entry)).not.toContain(created.token.slice(10))
  })

  it('authenticate requests and record their last use', async () => {
    const created = await createToken(alice)
    const res = await callRoute(me.GET, { token: created.token })
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ id: alice.id, viaApiToken: true })
    await waitFor('lastUsedAt', async () => (await getDb().apiToken.findUniqueOrThrow({ where: { id: created.apiToken.id } })).lastUsedAt)
  })

  it('refuse a bad name with 400 naming it', async () => {
    for (const body of [{}, { name: '  ' }, { name: 'n'.repeat(101) }]) {
      const res = await callRoute(tokens.POST, { token: alice.token, body })
      expect(res.status).toBe(400)
      expect(fieldsOf(res.body)).toEqual(['name'])
    }
    const extra = await callRoute(tokens.POST, { token: alice.token, body: { name: 'x', userId: bob.id } })
    expect(extra.status).toBe(400)
    expect(fieldsOf(extra.body)).toEqual(['userId'])
  })

  it('are listed to their owner only; staff see everyone’s', async () => {
    const a = await createToken(alice)
    const b = await createToken(bob)
    const aliceList = await callRoute(tokens.GET, { token: alice.token })
    expect(aliceList.status).toBe(200)
    const owners = new Set((aliceList.body.items as { owner: { id: string } }[]).map((t) => t.owner.id))
    expect([...owners]).toEqual([alice.id])
    const aliceIds = aliceList.body.items.map((t: { id: string }) => t.id)
    expect(aliceIds).toContain(a.apiToken.id)
    expect(aliceIds).not.toContain(b.apiToken.id)
    const staffIds = (await callRoute(tokens.GET, { token: staff.token })).body.items.map((t: { id: string }) => t.id)
    expect(staffIds).toEqual(expect.arrayContaining([a.apiToken.id, b.apiToken.id]))
    expect(JSON.stringify(aliceList.body)).not.toMatch(/tokenHash|token_hash/)
  })

  it('stop working once revoked; revoking twice is 409', async () => {
    const created = await createToken(alice)
    expect((await callRoute(me.GET, { token: created.token })).status).toBe(200)
    const res = await callRoute(token.DELETE, { token: alice.token, params: { id: created.apiToken.id } })
    expect(res.status).toBe(200)
    expect(res.body.revokedAt).toEqual(expect.any(String))
    expect((await callRoute(me.GET, { token: created.token })).status).toBe(401)
    expect((await callRoute(tokens.GET, { token: created.token })).status).toBe(401)
    expect((await callRoute(token.DELETE, { token: alice.token, params: { id: created.apiToken.id } })).status).toBe(409)
    expect((await auditOf(created.apiToken.id)).map((e) => e.action)).toEqual(['api_token.created', 'api_token.revoked'])
  })

  it('of two concurrent revocations one wins and the other gets 409', async () => {
    const created = await createToken(alice)
    const results = await Promise.all(
      [1, 2].map(() => callRoute(token.DELETE, { token: alice.token, params: { id: created.apiToken.id } })),
    )
    expect(results.map((r) => r.status).sort()).toEqual([200, 409])
    expect((await auditOf(created.apiToken.id)).filter((e) => e.action === 'api_token.revoked')).toHaveLength(1)
  })

  it('a token can revoke itself', async () => {
    const created = await createToken(alice)
    expect((await callRoute(token.DELETE, { token: created.token, params: { id: created.apiToken.id } })).status).toBe(200)
    expect((await callRoute(me.GET, { token: created.token })).status).toBe(401)
  })

  it('another user’s token is 404 to a non-staff user, revoked or not', async () => {
    const live = await createToken(bob)
    const revoked = await createToken(bob)
    expect((await callRoute(token.DELETE, { token: bob.token, params: { id: revoked.apiToken.id } })).status).toBe(200)
    for (const id of [live.apiToken.id, revoked.apiToken.id, 'not-a-uuid', '00000000-0000-7000-8000-000000000000']) {
      const res = await callRoute(token.DELETE, { token: alice.token, params: { id } })
      expect(res.status, id).toBe(404)
    }
    expect((await callRoute(me.GET, { token: live.token })).status).toBe(200)
  })

  it('staff revoke anyone’s token', async () => {
    const created = await createToken(bob)
    const res = await callRoute(token.DELETE, { token: staff.token, params: { id: created.apiToken.id } })
    expect(res.status).toBe(200)
    expect((await callRoute(me.GET, { token: created.token })).status).toBe(401)
    expect((await auditOf(created.apiToken.id))[1]).toMatchObject({ action: 'api_token.revoked', actorId: staff.id })
  })

  it('a token whose user is deleted stops working', async () => {
    const org = (await createTestOrganization()).id
    const gone = await createTestUser({ organizationId: org })
    expect((await callRoute(me.GET, { token: gone.token })).status).toBe(200)
    await getDb().user.delete({ where: { id: gone.id } })
    expect((await callRoute(me.GET, { token: gone.token })).status).toBe(401)
  })
})
