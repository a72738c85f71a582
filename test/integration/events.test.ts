import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as events from '@/app/api/v1/events/route'
import * as instance from '@/app/api/v1/instances/[id]/route'
import { getConfig, requireDatabaseUrl } from '@/lib/config'
import { EventHub, getEventHub } from '@/lib/events/hub'
import type { TenonEvent } from '@/lib/events/types'
import { callRoute, type JsonBody } from '../support/call-route'
import { createTestOrganization, createTestUser, type TestUser } from '../support/fixtures'
import { createInstanceVia, waitFor } from './helpers'

let staff: TestUser
let clientA: TestUser
let clientB: TestUser
let orgA: string
let orgB: string

beforeAll(async () => {
  ;[orgA, orgB] = (await Promise.all([createTestOrganization(), createTestOrganization()])).map((o) => o.id) as [string, string]
  ;[staff, clientA, clientB] = await Promise.all([
    createTestUser({ staff: true }),
    createTestUser({ organizationId: orgA, role: 'member' }),
    createTestUser({ organizationId: orgB, role: 'owner' }),
  ])
})

afterAll(async () => {
  // The SSE route shares the process-wide hub; close its LISTEN connection so the run can end.
  await getEventHub(requireDatabaseUrl(getConfig())).close()
})

/** Creates and updates one instance in each organization; returns their ids. */
async function changeBothOrganizations(): Promise<{ a: string; b: string }> {
  const a: JsonBody = await createInstanceVia(staff.token, orgA)
  const b: JsonBody = await createInstanceVia(staff.token, orgB)
  for (const inst of [a, b]) {
    const res = await callRoute(instance.PATCH, {
      token: staff.token,
      params: { id: inst.id },
      body: { version: 1, name: `${inst.name} v2` },
    })
    expect(res.status).toBe(200)
  }
  return { a: a.id, b: b.id }
}

describe('EventHub', () => {
  it('delivers committed changes to every subscriber', async () => {
    const hub = new EventHub(requireDatabaseUrl(getConfig()))
    const received: TenonEvent[] = []
    const unsubscribe = await hub.subscribe((e) => received.push(e))
    try {
      const { a, b } = await changeBothOrganizations()
      await waitFor('hub events', async () => received.filter((e) => e.targetId === a || e.targetId === b).length === 4)
      const mine = received.filter((e) => e.targetId === a || e.targetId === b)
      expect(mine.map((e) => [e.action, e.targetId === a ? 'A' : 'B', e.organizationId]).sort()).toEqual(
        [
          ['instance.created', 'A', orgA],
          ['instance.created', 'B', orgB],
          ['instance.updated', 'A', orgA],
          ['instance.updated', 'B', orgB],
        ].sort(),
      )
      expect(mine.every((e) => e.targetType === 'instance' && !Number.isNaN(Date.parse(e.at)))).toBe(true)
    } finally {
      unsubscribe()
      await hub.close()
    }
  })

  it('does not announce a change that was refused', async () => {
    const hub = new EventHub(requireDatabaseUrl(getConfig()))
    const received: TenonEvent[] = []
    await hub.subscribe((e) => received.push(e))
    try {
      const inst: JsonBody = await createInstanceVia(staff.token, orgA)
      const stale = await callRoute(instance.PATCH, { token: staff.token, params: { id: inst.id }, body: { version: 9, name: 'x' } })
      expect(stale.status).toBe(409)
      const marker: JsonBody = await createInstanceVia(staff.token, orgA)
      await waitFor('marker event', async () => received.some((e) => e.targetId === marker.id))
      expect(received.filter((e) => e.targetId === inst.id).map((e) => e.action)).toEqual(['instance.created'])
    } finally {
      await hub.close()
    }
  })
})

/** An open /api/v1/events stream, read in the background. */
function openStream(token: string) {
  const controller = new AbortController()
  const request = new Request('http://console.test/api/v1/events', {
    headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' },
    signal: controller.signal,
  })
  let text = ''
  let status = 0
  let contentType = ''
  const done = (async () => {
    const response = await events.GET(request, { params: Promise.resolve({}) })
    status = response.status
    contentType = response.headers.get('content-type') ?? ''
    const reader = response.body!.getReader()
    const decoder = new TextDecoder()
    try {
      for (;;) {
        const { value, done } = await reader.read()
        if (done) break
        text += decoder.decode(value, { stream: true })
      }
    } catch {
      // aborted
    }
  })()
  const frames = () =>
    text
      .split('\n\n')
      .filter((f) => f.trim())
      .map((f) =>
        Object.fromEntries(f.split('\n').map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1).trim()])),
      )
  return {
    status: () => status,
    contentType: () => contentType,
    ready: () => frames().some((f) => f.event === 'ready'),
    changes: (): TenonEvent[] =>
      frames()
        .filter((f) => f.event === 'change')
        .map((f) => JSON.parse(f.data!) as TenonEvent),
    close: async () => {
      controller.abort()
      await done
    },
  }
}

describe('GET /api/v1/events', () => {
  it('streams each subscriber only the changes it may see', async () => {
    const streams = { a: openStream(clientA.token), b: openStream(clientB.token), staff: openStream(staff.token) }
    try {
      await waitFor('streams ready', async () => Object.values(streams).every((s) => s.ready()))
      for (const s of Object.values(streams)) {
        expect(s.status()).toBe(200)
        expect(s.contentType()).toMatch(/^text\/event-stream/)
      }
      const { a, b } = await changeBothOrganizations()
      const about = (s: ReturnType<typeof openStream>, id: string) => s.changes().filter((e) => e.targetId === id)
      await waitFor('staff sees all four changes', async () => about(streams.staff, a).length === 2 && about(streams.staff, b).length === 2)
      await waitFor('client A sees its two', async () => about(streams.a, a).length === 2)
      await waitFor('client B sees its two', async () => about(streams.b, b).length === 2)

      expect(about(streams.a, a).map((e) => e.action)).toEqual(['instance.created', 'instance.updated'])
      expect(about(streams.b, b).map((e) => e.action)).toEqual(['instance.created', 'instance.updated'])
      // Everything else happening in the database meanwhile (other tests) must not leak either.
      expect(streams.a.changes().every((e) => e.organizationId === orgA)).toBe(true)
      expect(streams.b.changes().every((e) => e.organizationId === orgB)).toBe(true)
      expect(about(streams.a, b)).toEqual([])
      expect(about(streams.b, a)).toEqual([])
    } finally {
      await Promise.all(Object.values(streams).map((s) => s.close()))
    }
  })

  it('ends the stream when the client goes away, even before it was set up', async () => {
    // A fresh hub, so subscribing has to connect first: the abort lands while the stream is being set up.
    await getEventHub(requireDatabaseUrl(getConfig())).close()
    const controller = new AbortController()
    const request = new Request('http://console.test/api/v1/events', {
      headers: { authorization: `Bearer ${clientA.token}` },
      signal: controller.signal,
    })
    const response = await events.GET(request, { params: Promise.resolve({}) })
    controller.abort()
    const reader = response.body!.getReader()
    const ended = (async () => {
      for (;;) if ((await reader.read()).done) return 'ended'
    })().catch(() => 'ended')
    expect(await Promise.race([ended, new Promise((r) => setTimeout(() => r('still open'), 3000))])).toBe('ended')
  })

  it('needs a signed-in user', async () => {
    const res = await callRoute(events.GET, {})
    expect(res.status).toBe(401)
  })
})
