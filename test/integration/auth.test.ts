import { beforeAll, describe, expect, it } from 'vitest'
import * as authRoute from '@/app/api/auth/[...all]/route'
import * as me from '@/app/api/v1/me/route'
import * as tokens from '@/app/api/v1/tokens/route'
import { getConfig } from '@/lib/config'
import { getDb } from '@/lib/db/client'
import { callRoute } from '../support/call-route'
import { createTestOrganization, createTestUser, PASSWORD, type TestUser } from '../support/fixtures'
import { CONSOLE_ORIGIN, randomIp, signIn } from './helpers'

let client: TestUser
let orgId: string

beforeAll(async () => {
  orgId = (await createTestOrganization()).id
  client = await createTestUser({ organizationId: orgId, role: 'owner' })
})

describe('signing in', () => {
  it('returns a session cookie that authenticates API requests', async () => {
    const session = await signIn(client.email, PASSWORD)
    expect(session.status).toBe(200)
    expect(session.cookie).toMatch(/better-auth\.session_token=/)
    const res = await callRoute(me.GET, { cookie: session.cookie })
    expect(res.status).toBe(200)
    expect(res.body).toEqual({
      id: client.id,
      email: client.email,
      name: expect.any(String),
      isStaff: false,
      memberships: [{ organizationId: orgId, role: 'owner' }],
      viaApiToken: false,
    })
    expect(JSON.stringify(session.body)).not.toContain(PASSWORD)
  })

  it('ignores the case of the email address', async () => {
    const session = await signIn(client.email.toUpperCase(), PASSWORD)
    expect(session.status).toBe(200)
    expect((await callRoute(me.GET, { cookie: session.cookie })).body.id).toBe(client.id)
  })

  it('sets an httpOnly, SameSite=Lax session cookie', async () => {
    const response = await authRoute.POST(
      new Request(`${CONSOLE_ORIGIN}/api/auth/sign-in/email`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: CONSOLE_ORIGIN, 'x-tenon-client-ip': randomIp() },
        body: JSON.stringify({ email: client.email, password: PASSWORD }),
      }),
    )
    const cookie = response.headers.getSetCookie().find((c) => c.startsWith('better-auth.session_token='))
    expect(cookie).toBeDefined()
    expect(cookie).toMatch(/HttpOnly/i)
    expect(cookie).toMatch(/SameSite=Lax/i)
  })

  it('refuses a wrong password or an unknown address with 401 and no cookie', async () => {
    for (const [email, password] of [
      [client.email, 'wrong-password-123'],
      ['nobody-here@example.test', PASSWORD],
    ] as const) {
      const res = await signIn(email, password)
      expect(res.status).toBe(401)
      expect(res.cookie).not.toMatch(/session_token=[^;]/)
    }
  })

  it('refuses a sign-in posted from a foreign origin', async () => {
    const res = await signIn(client.email, PASSWORD, randomIp(), 'http://evil.test')
    expect(res.status).toBe(403)
    expect(res.cookie).toBe('')
  })

  it(`limits sign-in attempts per client address (${getConfig().signIn.maxAttempts} per window)`, async () => {
    const { maxAttempts } = getConfig().signIn
    expect(maxAttempts).toBe(5)
    const ip = randomIp()
    for (let i = 0; i < maxAttempts; i++) {
      expect((await signIn(client.email, 'wrong-password-123', ip)).status).toBe(401)
    }
    const blocked = await signIn(client.email, PASSWORD, ip)
    expect(blocked.status).toBe(429)
    expect(blocked.cookie).toBe('')
    const elsewhere = await signIn(client.email, PASSWORD, randomIp())
    expect(elsewhere.status).toBe(200)
  })

  it('signing out ends the session', async () => {
    const session = await signIn(client.email, PASSWORD)
    expect((await callRoute(me.GET, { cookie: session.cookie })).status).toBe(200)
    const out = await authRoute.POST(
      new Request(`${CONSOLE_ORIGIN}/api/auth/sign-out`, {
        method: 'POST',
        headers: { cookie: session.cookie, origin: CONSOLE_ORIGIN, 'content-type': 'application/json', 'x-tenon-client-ip': randomIp() },
        body: '{}',
      }),
    )
    expect(out.status).toBe(200)
    expect((await callRoute(me.GET, { cookie: session.cookie })).status).toBe(401)
  })

  it('audits signing in and out, with the client address and no secret', async () => {
    const user = await createTestUser({ organizationId: orgId, role: 'member' })
    const ip = randomIp()
    const session = await signIn(user.email, PASSWORD, ip)
    expect(session.status).toBe(200)
    await authRoute.POST(
      new Request(`${CONSOLE_ORIGIN}/api/auth/sign-out`, {
        method: 'POST',
        headers: { cookie: session.cookie, origin: CONSOLE_ORIGIN, 'content-type': 'application/json', 'x-tenon-client-ip': ip },
        body: '{}',
      }),
    )
    const entries = await getDb().auditEntry.findMany({ where: { targetType: 'user', targetId: user.id }, orderBy: { at: 'asc' } })
    expect(entries.map((e) => e.action)).toEqual(['user.created', 'user.signed_in', 'user.signed_out'])
    expect(entries[1]).toMatchObject({ actorId: user.id, actorLabel: user.email, organizationId: null })
    expect(entries[1]!.diff).toMatchObject({ ipAddress: { after: ip } })
    expect(JSON.stringify(entries)).not.toContain(PASSWORD)
  })

  it('refuses an expired session', async () => {
    const session = await signIn(client.email, PASSWORD)
    const token = decodeURIComponent(/better-auth\.session_token=([^;.]+)/.exec(session.cookie)![1]!)
    await getDb().session.update({ where: { token }, data: { expiresAt: new Date(Date.now() - 1000) } })
    expect((await callRoute(me.GET, { cookie: session.cookie })).status).toBe(401)
  })

  it('keeps sessions in the database with an expiry from SESSION_TTL_HOURS', async () => {
    const before = Date.now()
    await signIn(client.email, PASSWORD)
    const latest = await getDb().session.findFirstOrThrow({ where: { userId: client.id }, orderBy: { createdAt: 'desc' } })
    const ttl = getConfig().sessionTtlHours * 3600_000
    expect(latest.expiresAt.getTime()).toBeGreaterThanOrEqual(before + ttl - 5000)
    expect(latest.expiresAt.getTime()).toBeLessThanOrEqual(Date.now() + ttl + 5000)
  })
})

describe('cross-site request protection', () => {
  let cookie: string
  beforeAll(async () => {
    cookie = (await signIn(client.email, PASSWORD)).cookie
  })
  const countTokens = () => getDb().apiToken.count({ where: { userId: client.id } })

  it('refuses a cookie-session write without an Origin', async () => {
    const before = await countTokens()
    const res = await callRoute(tokens.POST, { cookie, body: { name: 'no origin' } })
    expect(res.status).toBe(403)
    expect(await countTokens()).toBe(before)
  })

  it('refuses a cookie-session write from a foreign Origin', async () => {
    const before = await countTokens()
    for (const origin of ['http://evil.test', 'https://console.test', 'http://console.test.evil.test', 'null']) {
      const res = await callRoute(tokens.POST, { cookie, body: { name: 'foreign' }, headers: { origin } })
      expect(res.status, origin).toBe(403)
    }
    expect(await countTokens()).toBe(before)
  })

  it('accepts a cookie-session write from the console’s origin, or marked same-origin by the browser', async () => {
    const res = await callRoute(tokens.POST, { cookie, body: { name: 'same origin' }, headers: { origin: CONSOLE_ORIGIN } })
    expect(res.status).toBe(201)
    const fetchMeta = await callRoute(tokens.POST, {
      cookie,
      body: { name: 'fetch metadata' },
      headers: { 'sec-fetch-site': 'same-origin' },
    })
    expect(fetchMeta.status).toBe(201)
    const crossSite = await callRoute(tokens.POST, { cookie, body: { name: 'cross site' }, headers: { 'sec-fetch-site': 'cross-site' } })
    expect(crossSite.status).toBe(403)
  })

  it('lets cookie-session reads through without an Origin', async () => {
    expect((await callRoute(tokens.GET, { cookie })).status).toBe(200)
  })

  it('needs no Origin for bearer-token writes', async () => {
    const res = await callRoute(tokens.POST, { token: client.token, body: { name: 'script' } })
    expect(res.status).toBe(201)
    const foreign = await callRoute(tokens.POST, {
      token: client.token,
      body: { name: 'script 2' },
      headers: { origin: 'http://evil.test' },
    })
    expect(foreign.status).toBe(201)
  })
})
