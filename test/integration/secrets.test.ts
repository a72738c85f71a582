import { beforeAll, describe, expect, it } from 'vitest'
import * as audit from '@/app/api/v1/audit/route'
import * as accept from '@/app/api/v1/invitations/[token]/accept/route'
import * as preview from '@/app/api/v1/invitations/[token]/route'
import * as me from '@/app/api/v1/me/route'
import * as invitations from '@/app/api/v1/organizations/[id]/invitations/route'
import * as members from '@/app/api/v1/organizations/[id]/members/route'
import * as organization from '@/app/api/v1/organizations/[id]/route'
import * as tokens from '@/app/api/v1/tokens/route'
import { getDb } from '@/lib/db/client'
import { callRoute, type JsonBody } from '../support/call-route'
import { createTestOrganization, createTestUser, PASSWORD, uniq, type TestUser } from '../support/fixtures'
import { signIn } from './helpers'

/** No API response carries a password, a password hash or a token hash. */
let staff: TestUser
let owner: TestUser
let orgId: string

beforeAll(async () => {
  orgId = (await createTestOrganization()).id
  ;[staff, owner] = await Promise.all([createTestUser({ staff: true }), createTestUser({ organizationId: orgId, role: 'owner' })])
})

function assertNoSecrets(label: string, body: JsonBody, extra: string[]) {
  const json = JSON.stringify(body)
  expect(json, label).not.toMatch(/tokenHash|token_hash|codeHash|code_hash/i)
  // a "password" key may appear only in an audit diff, and only redacted
  expect(json.replace(/"password":\{"after":"\[redacted\]"\}/g, ''), label).not.toMatch(/"password"/i)
  expect(json, label).not.toMatch(/[0-9a-f]{32}:[0-9a-f]{128}/) // better-auth's scrypt "salt:key"
  expect(json, label).not.toMatch(/\b[0-9a-f]{64}\b/) // a SHA-256 hex digest (token and invitation hashes)
  for (const s of extra) expect(json, label).not.toContain(s)
}

describe('secrets in responses', () => {
  it('no endpoint returns password hashes or token hashes', async () => {
    const inviteePassword = `pw-${uniq()}-secret`
    const inv = await callRoute(invitations.POST, {
      token: owner.token,
      params: { id: orgId },
      body: { email: `s-${uniq()}@example.test` },
    })
    const linkToken = inv.body.link.split('/invite/')[1] as string
    const hashes = (await getDb().account.findMany({ where: { user: { email: { in: [owner.email, staff.email] } } } })).map(
      (a) => a.password!,
    )
    const tokenHashes = (await getDb().apiToken.findMany({ where: { userId: { in: [owner.id, staff.id] } } })).map((t) => t.tokenHash)
    const secrets = [...hashes, ...tokenHashes, inviteePassword, PASSWORD]

    const responses: [string, JsonBody][] = [
      ['invite', inv.body],
      ['preview', (await callRoute(preview.GET, { params: { token: linkToken } })).body],
      ['accept', (await callRoute(accept.POST, { params: { token: linkToken }, body: { name: 'S', password: inviteePassword } })).body],
      ['me', (await callRoute(me.GET, { token: owner.token })).body],
      ['members', (await callRoute(members.GET, { token: owner.token, params: { id: orgId } })).body],
      ['organization', (await callRoute(organization.GET, { token: owner.token, params: { id: orgId } })).body],
      ['tokens (owner)', (await callRoute(tokens.GET, { token: owner.token })).body],
      ['tokens (staff)', (await callRoute(tokens.GET, { token: staff.token })).body],
      ['audit (owner)', (await callRoute(audit.GET, { token: owner.token, query: { limit: 200 } })).body],
      ['audit (staff)', (await callRoute(audit.GET, { token: staff.token, query: { limit: 200 } })).body],
      ['sign-in', (await signIn(owner.email, PASSWORD)).body],
    ]
    for (const [label, body] of responses) {
      expect(body, label).toBeTruthy()
      assertNoSecrets(label, body, secrets)
    }
  })

  it('a created token is shown to its owner once, and never again', async () => {
    const created = await callRoute(tokens.POST, { token: owner.token, body: { name: 'once' } })
    expect(created.body.token).toMatch(/^tnn_/)
    const list = await callRoute(tokens.GET, { token: owner.token })
    expect(JSON.stringify(list.body)).not.toContain(created.body.token)
    expect(JSON.stringify(list.body)).not.toContain(created.body.token.slice(10))
  })
})
