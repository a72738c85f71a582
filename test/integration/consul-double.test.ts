import { randomUUID } from 'node:crypto'
import http from 'node:http'
import Consul from 'consul'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startConsulDouble, type ConsulDouble } from '@/test/fakes/consul/server'

const TOKEN = `consul-token-${randomUUID()}`
const short = () => randomUUID().slice(0, 8)
const b64 = (text: string) => Buffer.from(text).toString('base64')

let consul: ConsulDouble
let client: Consul

interface Answer {
  status: number
  index: number | null
  text: string
  headers: Headers
}

async function call(path: string, init: RequestInit & { token?: string | null } = {}): Promise<Answer> {
  const { token = TOKEN, ...rest } = init
  const headers = new Headers(rest.headers)
  if (token !== null) headers.set('x-consul-token', token)
  const res = await fetch(`${consul.url}${path}`, { ...rest, headers })
  const index = res.headers.get('x-consul-index')
  return { status: res.status, index: index === null ? null : Number(index), text: await res.text(), headers: res.headers }
}

function parsed<T = unknown>(answer: Answer): T {
  return JSON.parse(answer.text)
}

/** Waits until the double holds `n` blocking queries, so a write made next is one the query must see. */
async function untilBlocked(n: number) {
  const deadline = Date.now() + 5000
  while (consul.state.blockedQueries() !== n) {
    if (Date.now() > deadline) throw new Error(`${consul.state.blockedQueries()} blocked queries, wanted ${n}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

interface KvJson {
  Key: string
  Value: string | null
  Flags: number
  CreateIndex: number
  ModifyIndex: number
  LockIndex: number
}

beforeAll(async () => {
  consul = await startConsulDouble({ token: TOKEN })
  client = new Consul({ host: consul.host, port: consul.port, defaults: { token: TOKEN } })
})

afterAll(async () => {
  client?.destroy()
  await consul?.stop()
})

describe('the Consul double, KV', () => {
  it('sets, gets, lists and deletes keys through the consul client, with Consul index bookkeeping', async () => {
    const p = `kv-${short()}/`
    expect(await client.kv.set(`${p}a`, 'one')).toBe(true)
    expect(await client.kv.set({ key: `${p}dir/b`, value: 'two', flags: 42 })).toBe(true)
    expect(await client.kv.set(`${p}dir/c`, '')).toBe(true)

    const a = await client.kv.get(`${p}a`)
    expect(a).toMatchObject({ Key: `${p}a`, Value: 'one', Flags: 0, LockIndex: 0 })
    expect(a?.CreateIndex).toBe(a?.ModifyIndex)
    expect(await client.kv.get(`${p}missing`)).toBeUndefined()

    const all = await client.kv.get({ key: p, recurse: true })
    expect(Array.isArray(all) ? all.map((e) => [e.Key, e.Value, e.Flags]) : all).toEqual([
      [`${p}a`, 'one', 0],
      [`${p}dir/b`, 'two', 42],
      [`${p}dir/c`, null, 0],
    ])
    expect(await client.kv.keys({ key: p, separator: '/' })).toEqual([`${p}a`, `${p}dir/`])
    expect(await client.kv.keys(p)).toEqual([`${p}a`, `${p}dir/b`, `${p}dir/c`])

    // Over plain HTTP: the headers every read carries, the raw value, and the 404s.
    const got = await call(`/v1/kv/${p}a`)
    expect(got.index).toBe(a?.ModifyIndex)
    expect(got.headers.get('x-consul-knownleader')).toBe('true')
    expect(got.headers.get('x-consul-lastcontact')).toBe('0')
    expect(parsed<KvJson[]>(got)[0]?.Value).toBe(b64('one'))
    const raw = await call(`/v1/kv/${p}dir/b?raw`)
    expect([raw.status, raw.text, raw.headers.get('content-type')]).toEqual([200, 'two', 'text/plain'])
    const missing = await call(`/v1/kv/${p}missing`)
    expect([missing.status, missing.text]).toEqual([404, ''])
    expect(missing.index).toBeGreaterThan(0)
    expect((await call(`/v1/kv/${p}nothing/?recurse`)).status).toBe(404)
    expect((await call(`/v1/kv/${p}nothing/?keys`)).status).toBe(404)

    // Setting the same value again writes nothing: the ModifyIndex stays.
    await client.kv.set(`${p}a`, 'one')
    expect((await client.kv.get(`${p}a`))?.ModifyIndex).toBe(a?.ModifyIndex)
    await client.kv.set(`${p}a`, 'uno')
    const changed = await client.kv.get(`${p}a`)
    expect(changed?.CreateIndex).toBe(a?.CreateIndex)
    expect(changed?.ModifyIndex).toBeGreaterThan(a?.ModifyIndex ?? Infinity)

    expect(await client.kv.del(`${p}a`)).toBe(true)
    expect(await client.kv.get(`${p}a`)).toBeUndefined()
    expect(await client.kv.del({ key: `${p}dir/`, recurse: true })).toBe(true)
    expect(consul.state.kv(p)).toEqual([])
    // The prefix's index is that of the deletion (a tombstone), never back to an older one.
    expect((await call(`/v1/kv/${p}?recurse`)).index).toBe(consul.state.index())
  })

  it('applies check-and-set only against the current ModifyIndex (0: only when absent)', async () => {
    const key = `cas-${short()}`
    // Consul answers `false` to a failed CAS, which the consul package resolves as undefined.
    expect(await client.kv.set({ key, value: 'v1', cas: 0 })).toBe(true)
    expect(await client.kv.set({ key, value: 'again', cas: 0 })).toBeFalsy()
    const refused = await call(`/v1/kv/${key}?cas=0`, { method: 'PUT', body: 'again' })
    expect([refused.status, refused.text]).toEqual([200, 'false'])
    const first = await client.kv.get(key)
    const index = first?.ModifyIndex ?? 0
    expect(await client.kv.set({ key, value: 'v2', cas: index })).toBe(true)
    expect(await client.kv.set({ key, value: 'stale', cas: index })).toBeFalsy()
    expect((await client.kv.get(key))?.Value).toBe('v2')
    expect(await client.kv.set({ key: `${key}-absent`, value: 'x', cas: 5 })).toBeFalsy()

    const current = (await client.kv.get(key))?.ModifyIndex ?? 0
    expect(await client.kv.del({ key, cas: index })).toBeFalsy()
    expect(await client.kv.del({ key, cas: current })).toBe(true)
    expect(await client.kv.get(key)).toBeUndefined()
    // As in Consul, a CAS delete of a key that is already gone succeeds.
    expect(await client.kv.del({ key, cas: current })).toBe(true)
    expect((await call(`/v1/kv/${key}?cas=1&recurse`, { method: 'DELETE' })).status).toBe(400)
  })

  it('holds a blocking query until a write to its key, not to another key, and reports the new index', async () => {
    const key = `block-${short()}`
    await client.kv.set(key, 'before')
    const index = (await client.kv.get(key))?.ModifyIndex ?? 0
    // Through the consul client, whose typings leave out the blocking options the package does send.
    const options = { key, index: String(index), wait: '20s' }
    const pending = client.kv.get(options)
    await untilBlocked(1)
    await client.kv.set(`${key}-other`, 'unrelated')
    await client.kv.set(key, 'before') // unchanged: no write
    expect(consul.state.blockedQueries()).toBe(1)
    await client.kv.set(key, 'after')
    const woken = await pending
    expect(woken).toMatchObject({ Key: key, Value: 'after' })
    expect(woken?.ModifyIndex).toBeGreaterThan(index)
    expect(consul.state.blockedQueries()).toBe(0)

    // A query on a missing key wakes when the key appears.
    const absent = `${key}-later`
    const before = await call(`/v1/kv/${absent}`)
    expect(before.status).toBe(404)
    const waiting = call(`/v1/kv/${absent}?index=${before.index}&wait=20s`)
    await untilBlocked(1)
    consul.state.put(absent, 'here')
    const appeared = await waiting
    expect(appeared.status).toBe(200)
    expect(appeared.index).toBe(consul.state.get(absent)?.modifyIndex)
  })

  it('answers a blocking query with the unchanged data when wait runs out, and at once for index 0 or an index ahead', async () => {
    const key = `timeout-${short()}`
    const entry = consul.state.put(key, 'still')
    const started = Date.now()
    const waiting = call(`/v1/kv/${key}?index=${entry.modifyIndex}&wait=400ms`)
    await untilBlocked(1)
    const answer = await waiting
    expect(Date.now() - started).toBeGreaterThanOrEqual(350)
    expect(answer.status).toBe(200)
    expect(answer.index).toBe(entry.modifyIndex)
    expect(parsed<KvJson[]>(answer)[0]?.Value).toBe(b64('still'))

    // These would hold the test for ten minutes if the double blocked them.
    expect((await call(`/v1/kv/${key}?index=0&wait=10m`)).index).toBe(entry.modifyIndex)
    const ahead = await call(`/v1/kv/${key}?index=${consul.state.index() + 1000}&wait=10m`)
    expect([ahead.status, ahead.index]).toEqual([200, entry.modifyIndex])
    expect((await call(`/v1/kv/${key}?index=abc`)).text).toBe('Invalid index')
    expect((await call(`/v1/kv/${key}?index=1&wait=5parsecs`)).text).toBe('Invalid wait time')
  })
})

describe('the Consul double, transactions', () => {
  it('writes all of a transaction or nothing, and wakes a blocked recursive read once, with every change', async () => {
    const p = `txn-${short()}/`
    const k0 = consul.state.put(`${p}k0`, 'zero')
    const list = await call(`/v1/kv/${p}?recurse`)
    expect(list.index).toBe(k0.modifyIndex)
    const blocked = call(`/v1/kv/${p}?recurse&index=${list.index}&wait=20s`)
    await untilBlocked(1)

    const failing = await call('/v1/txn', {
      method: 'PUT',
      body: JSON.stringify([
        { KV: { Verb: 'set', Key: `${p}k1`, Value: b64('one') } },
        { KV: { Verb: 'set', Key: `${p}k2`, Value: b64('two') } },
        { KV: { Verb: 'check-index', Key: `${p}k0`, Index: k0.modifyIndex + 1 } },
      ]),
    })
    expect(failing.status).toBe(409)
    expect(parsed(failing)).toEqual({
      Results: null,
      Errors: [
        { OpIndex: 2, What: `failed index check for key "${p}k0", current modify index ${k0.modifyIndex} != ${k0.modifyIndex + 1}` },
      ],
    })
    expect(consul.state.kv(p).map((e) => e.key)).toEqual([`${p}k0`])
    expect(consul.state.blockedQueries()).toBe(1)

    // Field names in lower case, which Consul (Go) reads case-insensitively. Not through the consul package: its
    // typings describe operations without the {"KV": …} wrapper, which Consul would silently skip.
    const ops = [
      { verb: 'check-index', key: `${p}k0`, index: k0.modifyIndex },
      { verb: 'set', key: `${p}k1`, value: b64('one') },
      { verb: 'set', key: `${p}k2`, value: b64('two') },
      { verb: 'delete', key: `${p}k0` },
    ]
    const answer = await call('/v1/txn', { method: 'PUT', body: JSON.stringify(ops.map((kv) => ({ kv }))) })
    expect(answer.status).toBe(200)
    const done = parsed<{ Results: { KV: KvJson }[] | null; Errors: unknown }>(answer)
    expect(done.Errors).toBeNull()
    const results = (done.Results ?? []).map((r) => r.KV)
    // Writes and checks answer their entry without its value; a delete answers nothing.
    expect(results.map((r) => [r.Key, r.Value])).toEqual([
      [`${p}k0`, null],
      [`${p}k1`, null],
      [`${p}k2`, null],
    ])
    const txnIndex = results[1]?.ModifyIndex
    expect(txnIndex).toBeGreaterThan(k0.modifyIndex)
    expect(results[2]?.ModifyIndex).toBe(txnIndex)

    const woken = await blocked
    expect(woken.index).toBe(txnIndex)
    expect(parsed<KvJson[]>(woken).map((e) => [e.Key, e.Value, e.ModifyIndex])).toEqual([
      [`${p}k1`, b64('one'), txnIndex],
      [`${p}k2`, b64('two'), txnIndex],
    ])

    // The next long poll from that index waits: the transaction was one change, not one per key.
    const next = call(`/v1/kv/${p}?recurse&index=${woken.index}&wait=20s`)
    await untilBlocked(1)
    consul.state.put(`${p}k3`, 'three')
    const after = await next
    expect(parsed<KvJson[]>(after).map((e) => e.Key)).toEqual([`${p}k1`, `${p}k2`, `${p}k3`])
  })

  it('answers reads inside a transaction, and refuses malformed or oversized transactions', async () => {
    const key = `txn-read-${short()}`
    consul.state.put(key, 'value')
    const read = await call('/v1/txn', {
      method: 'PUT',
      body: JSON.stringify([{ KV: { Verb: 'get', Key: key } }, { KV: { Verb: 'check-not-exists', Key: `${key}-nope` } }]),
    })
    expect(read.status).toBe(200)
    expect(parsed<{ Results: { KV: KvJson }[] }>(read).Results.map((r) => r.KV.Value)).toEqual([b64('value')])

    const missing = await call('/v1/txn', { method: 'PUT', body: JSON.stringify([{ KV: { Verb: 'get', Key: `${key}-nope` } }]) })
    expect(missing.status).toBe(409)
    expect((await call('/v1/txn', { method: 'PUT', body: '{not json' })).status).toBe(400)
    expect((await call('/v1/txn', { method: 'PUT', body: JSON.stringify([{ KV: { Verb: 'set', Key: key, Value: '%%%' } }]) })).status).toBe(
      400,
    )
    const tooMany = Array.from({ length: 65 }, (_, i) => ({ KV: { Verb: 'set', Key: `${key}/${i}`, Value: b64('x') } }))
    expect((await call('/v1/txn', { method: 'PUT', body: JSON.stringify(tooMany) })).status).toBe(413)
    expect(consul.state.kv(`${key}/`)).toEqual([])
    expect((await call('/v1/txn')).status).toBe(405)
  })
})

describe('the Consul double, services and health', () => {
  it('registers, lists, re-registers and deregisters services, and reports their health', async () => {
    const name = `web-${short()}`
    await client.agent.service.register({
      name,
      id: `${name}-1`,
      tags: ['blue', 'v1'],
      address: '10.0.0.5',
      port: 8080,
      meta: { instance: 'i1' },
      check: { name: 'heartbeat', http: 'http://10.0.0.5:8080/heartbeat', interval: '5s', timeout: '2s' },
    })
    await client.agent.service.register({
      name,
      id: `${name}-2`,
      tags: ['green'],
      port: 8081,
      check: { name: 'ttl', ttl: '30s', timeout: '1s' },
    })

    const agentServices = await client.agent.service.list()
    expect(agentServices[`${name}-1`]).toMatchObject({
      ID: `${name}-1`,
      Service: name,
      Tags: ['blue', 'v1'],
      Port: 8080,
      Meta: { instance: 'i1' },
    })
    expect(await client.catalog.service.list()).toMatchObject({ consul: [], [name]: ['blue', 'green', 'v1'] })

    const health = await call(`/v1/health/service/${name}`)
    const entries =
      parsed<{ Service: { ID: string; Address: string; Port: number }; Checks: { CheckID: string; Status: string }[] }[]>(health)
    expect(entries.map((e) => [e.Service.ID, e.Service.Address, e.Service.Port])).toEqual([
      [`${name}-1`, '10.0.0.5', 8080],
      [`${name}-2`, '', 8081],
    ])
    // Consul lists the node's serfHealth check with every service; a new service check starts critical.
    expect(entries[0]?.Checks.map((c) => [c.CheckID, c.Status])).toEqual([
      ['serfHealth', 'passing'],
      [`service:${name}-1`, 'critical'],
    ])
    expect(await client.health.service({ service: name, passing: true })).toEqual([])

    // A blocked health query wakes when a check changes status.
    const waiting = call(`/v1/health/service/${name}?passing&index=${health.index}&wait=20s`)
    await untilBlocked(1)
    consul.state.setCheckStatus(`${name}-1`, 'passing')
    const woken = await waiting
    expect(parsed<{ Service: { ID: string } }[]>(woken).map((e) => e.Service.ID)).toEqual([`${name}-1`])

    // TTL checks are set through the agent's check endpoints.
    expect((await call(`/v1/agent/check/pass/service:${name}-2?note=ok`, { method: 'PUT' })).status).toBe(200)
    expect((await client.health.service({ service: name, passing: true })).length).toBe(2)
    expect((await call(`/v1/agent/check/pass/service:${name}-1`, { method: 'PUT' })).status).toBe(500)

    // Registering again replaces the definition and keeps the check's status.
    await client.agent.service.register({
      name,
      id: `${name}-1`,
      tags: ['blue', 'v2'],
      port: 9090,
      check: { name: 'heartbeat', http: 'http://10.0.0.5:9090/heartbeat', interval: '5s', timeout: '2s' },
    })
    const replaced = consul.state.services().find((s) => s.id === `${name}-1`)
    expect(replaced).toMatchObject({ tags: ['blue', 'v2'], port: 9090, checks: [{ status: 'passing' }] })

    await client.agent.service.deregister(`${name}-1`)
    await client.agent.service.deregister(`${name}-2`)
    expect(Object.keys(await client.agent.service.list())).not.toContain(`${name}-1`)
    expect(await client.health.service(name)).toEqual([])
    expect(await client.catalog.service.list()).not.toHaveProperty(name)
    const unknown = await call(`/v1/agent/service/deregister/${name}-1`, { method: 'PUT' })
    expect([unknown.status, unknown.text]).toEqual([
      404,
      `Unknown service ID "${name}-1". Ensure that the service ID is passed, not the service name.`,
    ])
    expect((await call('/v1/agent/service/register', { method: 'PUT', body: JSON.stringify({ Port: 1 }) })).status).toBe(400)
  })
})

describe('the Consul double, ACL and HTTP', () => {
  it('refuses a request without the token or with a wrong one, and accepts it in the header, query or bearer form', async () => {
    const key = `acl-${short()}`
    consul.state.put(key, 'secret')
    const none = await call(`/v1/kv/${key}`, { token: null })
    expect([none.status, none.text]).toEqual([403, 'Permission denied'])
    const wrong = await call(`/v1/kv/${key}`, { token: 'not-the-token' })
    expect([wrong.status, wrong.text]).toEqual([403, 'ACL not found'])
    expect((await call(`/v1/kv/${key}?token=${TOKEN}`, { token: null })).status).toBe(200)
    expect((await call(`/v1/kv/${key}`, { token: null, headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200)

    const anonymous = new Consul({ host: consul.host, port: consul.port })
    try {
      const err = await anonymous.kv.set(key, 'overwritten').then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(err).toBeInstanceOf(Error)
      expect(err instanceof Error ? [err.message, Reflect.get(err, 'statusCode')] : err).toEqual(['Permission denied', 403])
    } finally {
      anonymous.destroy()
    }
    expect(consul.state.get(key)?.value).toBe('secret')
    expect((await call('/v1/status/leader', { token: null })).status).toBe(200)
  })

  it('answers 404 for an unknown path and 405 for a wrong method', async () => {
    expect((await call('/v1/nothing/here')).status).toBe(404)
    const wrongMethod = await call('/v1/kv/some-key', { method: 'POST', body: 'x' })
    expect([wrongMethod.status, wrongMethod.text]).toEqual([405, 'method POST not allowed'])
    expect((await call('/v1/agent/service/register')).status).toBe(405)
    expect((await call('/v1/kv/some-key?dc=elsewhere')).status).toBe(500)
  })
})

describe('the Consul double, pause and resume', () => {
  it('refuses connections and cuts blocked queries while paused, and comes back on the same port with its data', async () => {
    const key = `pause-${short()}`
    const entry = consul.state.put(key, 'kept')
    const blocked = call(`/v1/kv/${key}?index=${entry.modifyIndex}&wait=20s`)
    await untilBlocked(1)

    await consul.pause()
    await expect(blocked).rejects.toThrow()
    expect(consul.state.blockedQueries()).toBe(0)
    await expect(client.kv.get(key)).rejects.toThrow()
    // A fresh connection, not one a pool kept: refused outright.
    const refused = await new Promise<string | undefined>((resolve) => {
      http
        .get(`${consul.url}/v1/kv/${key}`, { agent: false }, () => resolve(undefined))
        .on('error', (err: NodeJS.ErrnoException) => resolve(err.code))
    })
    expect(refused).toBe('ECONNREFUSED')

    await consul.resume()
    expect(await client.kv.get(key)).toMatchObject({ Value: 'kept', ModifyIndex: entry.modifyIndex })
    await client.kv.set(key, 'later')
    expect((await client.kv.get(key))?.ModifyIndex).toBeGreaterThan(entry.modifyIndex)
  })

  it('delays answers by the configured latency', async () => {
    const key = `slow-${short()}`
    consul.state.put(key, 'v')
    consul.setLatency(300)
    try {
      const options = { key, timeout: 50 }
      await expect(client.kv.get(options)).rejects.toThrow(/timed out/)
    } finally {
      consul.setLatency(0)
    }
    expect((await client.kv.get(key))?.Value).toBe('v')
  })
})
