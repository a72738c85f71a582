import { randomUUID } from 'node:crypto'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import pino, { type Logger } from 'pino'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { EMPTY_ROUTING, startLbAgent, type LbAgent } from '@/lb-agent/agent'
import type { HaproxyControl } from '@/lb-agent/haproxy'
import { backendName, CONFIG_FILE, HOSTS_MAP_FILE, renderHaproxy, type RenderOptions } from '@/lb-agent/render'
import { consulKeys, ZAgentReport, ZRoutingRevision, type AgentReport } from '@/provisioners/consul/layout'
import { createConsulRouter, type ConsulRouter } from '@/provisioners/consul/router'
import type { DesiredRouting, RoutingBackend } from '@/provisioners/types'
import { startConsulDouble, type ConsulDouble } from '@/test/fakes/consul/server'
import { FAST_AGENT_TIMINGS, freePort, startHaproxy, testRenderOptions, type StartedHaproxy } from '@/test/support/haproxy'
import { rejection } from '@/test/support/rejection'

/**
 * The load-balancer agent end to end on this machine: the real consul router publishing to the Consul double, the
 * agent long-polling it and driving a real HAProxy (master-worker) in front of tiny appservers answering their name.
 * Each test is its own cluster (its own KV prefix), so reports of agents stopped by an earlier test are never waited for.
 */
const TOKEN = `consul-token-${randomUUID()}`
let consul: ConsulDouble
const cleanups: (() => Promise<unknown> | unknown)[] = []

beforeAll(async () => {
  consul = await startConsulDouble({ token: TOKEN })
})

afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn()
})

afterAll(async () => {
  await consul?.stop()
})

// ---------------------------------------------------------------------------------------------------------------------

interface Cluster {
  prefix: string
  router: ConsulRouter
  revision(): number
  report(node: string): AgentReport | undefined
  /** one transaction straight to Consul, as if another writer (or a bug) had made it */
  txn(ops: object[]): Promise<void>
}

function cluster(): Cluster {
  const prefix = `t${randomUUID().slice(0, 8)}`
  const keys = consulKeys(prefix)
  const router = createConsulRouter({
    address: consul.url,
    token: TOKEN,
    prefix,
    timeoutMs: 3000,
    applyTimeoutMs: 20_000,
    agentStaleMs: 30_000,
    pollMs: 20,
  })
  cleanups.push(() => router.close())
  return {
    prefix,
    router,
    revision() {
      const entry = consul.state.get(keys.revision)
      return entry ? ZRoutingRevision.parse(JSON.parse(entry.value)).revision : 0
    },
    report(node) {
      const entry = consul.state.get(keys.agent(node))
      return entry ? ZAgentReport.parse(JSON.parse(entry.value)) : undefined
    },
    async txn(ops) {
      const response = await fetch(`${consul.url}/v1/txn`, {
        method: 'PUT',
        headers: { 'x-consul-token': TOKEN, 'content-type': 'application/json' },
        body: JSON.stringify(ops),
      })
      if (!response.ok) throw new Error(`txn: ${response.status} ${await response.text()}`)
    },
  }
}

interface Appserver {
  name: string
  port: number
  backend(role?: RoutingBackend['role']): RoutingBackend
}

/** A tiny appserver answering every request (health checks included) with its name. */
async function appserver(name: string): Promise<Appserver> {
  const server = http.createServer((_req, res) => {
    res.setHeader('content-type', 'text/plain')
    res.end(name)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (!address || typeof address === 'string') throw new Error('the appserver has no TCP address')
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  )
  const appserverId = `${name}-${randomUUID().slice(0, 8)}`
  return {
    name,
    port: address.port,
    backend: (role = 'active') => ({ appserverId, address: `http://127.0.0.1:${address.port}`, role }),
  }
}

function routingOf(hostnames: string[], backends: RoutingBackend[], instanceId: string = randomUUID()): DesiredRouting {
  return {
    instanceId,
    slug: `site-${instanceId.slice(0, 6)}`,
    hostnames,
    backends,
    healthPath: '/heartbeat',
    maintenance: !backends.some((b) => b.role === 'active'),
    certificates: [],
  }
}

interface CapturedLog {
  log: Logger
  lines: { level: number; msg: string; [key: string]: unknown }[]
  text: () => string
}

function captureLog(): CapturedLog {
  const raw: string[] = []
  const log = pino({ level: 'debug' }, { write: (line: string) => void raw.push(line) })
  return {
    log,
    get lines() {
      return raw.map((line) => JSON.parse(line))
    },
    text: () => raw.join(''),
  }
}

interface LbNode {
  name: string
  dir: string
  render: RenderOptions
  haproxy: StartedHaproxy
  agent: LbAgent
  logs: CapturedLog
  /** what the agent's HaproxyControl did, in order */
  events: string[]
  /** a new agent for the same node (after the previous one stopped) */
  startAgent(): LbAgent
}

/** A load-balancer node: HAProxy started on an empty configuration (as the Ansible role leaves it), then its agent. */
async function lbNode(c: Cluster, name: string, options: { applyDelayMs?: number } = {}): Promise<LbNode> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lb-agent-'))
  cleanups.push(() => rm(dir, { recursive: true, force: true }))
  const render = testRenderOptions(dir, await freePort(), { nodeName: name })
  const haproxy = await startHaproxy({ configDir: dir, rendered: renderHaproxy(EMPTY_ROUTING, render) })
  cleanups.push(() => haproxy.stop())
  const logs = captureLog()
  const events: string[] = []
  const control: HaproxyControl = {
    ...haproxy.control,
    async apply(rendered, plan) {
      if (options.applyDelayMs) await sleep(options.applyDelayMs)
      const result = await haproxy.control.apply(rendered, plan)
      events.push(`applied ${result.method}`)
      return result
    },
  }
  let current: LbAgent | undefined
  const node: LbNode = {
    name,
    dir,
    render,
    haproxy,
    logs,
    events,
    get agent() {
      if (!current) throw new Error('no agent started yet')
      return current
    },
    startAgent() {
      const agent = startLbAgent({
        consul: { address: consul.url, token: TOKEN },
        prefix: c.prefix,
        render,
        haproxy: control,
        ...FAST_AGENT_TIMINGS,
        log: logs.log,
      })
      cleanups.push(() => agent.stop())
      current = agent
      return agent
    },
  }
  node.startAgent()
  await node.agent.ready()
  return node
}

interface Answer {
  status: number
  body: string
}

function get(port: number, host: string, agent?: http.Agent): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/', headers: { host }, agent: agent ?? false }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (body += chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
      res.on('error', reject)
    })
    req.setTimeout(5000, () => req.destroy(new Error('timed out')))
    req.on('error', reject)
    req.end()
  })
}

interface Sample extends Partial<Answer> {
  startedAt: number
  error?: string
}

/** Keep-alive clients asking for `host` in a loop until stopped; every request and its outcome is recorded. */
function load(port: number, host: string, clients = 3) {
  let running = true
  const samples: Sample[] = []
  const agents: http.Agent[] = []
  const loops = Array.from({ length: clients }, async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
    agents.push(agent)
    while (running) {
      const startedAt = performance.now()
      try {
        samples.push({ startedAt, ...(await get(port, host, agent)) })
      } catch (err) {
        samples.push({ startedAt, error: err instanceof Error ? err.message : String(err) })
      }
    }
  })
  const stop = async () => {
    running = false
    await Promise.all(loops)
    for (const agent of agents) agent.destroy()
    return samples
  }
  cleanups.push(stop)
  return {
    samples,
    /** resolves once `count` more requests were answered */
    async more(count: number) {
      const target = samples.length + count
      await until(() => samples.length >= target, `${count} more requests`)
    },
    stop,
  }
}

const failures = (samples: Sample[]) => samples.filter((s) => s.error !== undefined || s.status !== 200)

async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(20)
  }
}

// ---------------------------------------------------------------------------------------------------------------------

describe('lb-agent', () => {
  it('applies a published instance; publish resolves only once the node applied and reported it', async () => {
    const c = cluster()
    // A slow apply makes "publish waited for the node" observable rather than a race the agent happens to win.
    const node = await lbNode(c, 'lb-one', { applyDelayMs: 300 })
    expect(node.agent.applied()).toEqual({ revision: 0, method: 'reload' })
    expect(c.report('lb-one')).toMatchObject({ revision: 0, seenRevision: 0, lastError: null, method: 'reload', lagMs: null })

    const app = await appserver('app-one')
    expect((await get(node.haproxy.port, 'one.lb.test')).status).toBe(404)
    await c.router.publish(routingOf(['one.lb.test'], [app.backend()]))
    node.events.push('publish resolved')

    const revision = c.revision()
    expect(revision).toBeGreaterThan(0)
    expect(node.events).toEqual(['applied reload', 'applied reload', 'publish resolved'])
    expect(node.agent.applied()).toEqual({ revision, method: 'reload' })
    expect(await get(node.haproxy.port, 'one.lb.test')).toEqual({ status: 200, body: 'app-one' })
    expect(await get(node.haproxy.port, 'ONE.lb.test:80')).toEqual({ status: 200, body: 'app-one' })
    const report = c.report('lb-one')
    expect(report).toMatchObject({ node: 'lb-one', revision, seenRevision: revision, method: 'reload', lastError: null })
    expect(report?.appliedAt).not.toBeNull()
    expect(report?.lagMs).toBeGreaterThanOrEqual(300)
    // Heartbeats keep the report fresh while nothing changes.
    const seen = report?.lastSeen ?? ''
    await until(() => (c.report('lb-one')?.lastSeen ?? '') > seen, 'a heartbeat')
    expect(node.logs.text()).not.toContain(TOKEN)
  })

  it('switches blue to green under continuous traffic with zero failed requests', async () => {
    const c = cluster()
    const node = await lbNode(c, 'lb-bg')
    const [blue, green] = await Promise.all([appserver('blue'), appserver('green')])
    const instanceId = randomUUID()
    await c.router.publish(routingOf(['bg.lb.test'], [blue.backend()], instanceId))

    const traffic = load(node.haproxy.port, 'bg.lb.test')
    await traffic.more(30)
    await c.router.publish(routingOf(['bg.lb.test'], [green.backend(), blue.backend('draining')], instanceId))
    const switchedAt = performance.now()
    expect(node.agent.applied()).toEqual({ revision: c.revision(), method: 'runtime' })
    await traffic.more(30)
    await c.router.publish(routingOf(['bg.lb.test'], [green.backend()], instanceId))
    expect(node.agent.applied()).toEqual({ revision: c.revision(), method: 'runtime' })
    await traffic.more(30)
    const samples = await traffic.stop()

    expect(failures(samples)).toEqual([])
    expect(samples.filter((s) => s.startedAt < switchedAt).some((s) => s.body === 'blue')).toBe(true)
    const after = samples.filter((s) => s.startedAt > switchedAt)
    expect(after.length).toBeGreaterThanOrEqual(60)
    expect(new Set(after.map((s) => s.body))).toEqual(new Set(['green']))
    expect(c.report('lb-bg')).toMatchObject({ revision: c.revision(), method: 'runtime', lastError: null })
  })

  it('two nodes with their own HAProxy converge on the same revision after several publishes', async () => {
    const c = cluster()
    const [a, b] = await Promise.all([lbNode(c, 'lb-a'), lbNode(c, 'lb-b')])
    expect(a.haproxy.port).not.toBe(b.haproxy.port)
    const [app1, app2] = await Promise.all([appserver('app-1'), appserver('app-2')])
    const first = randomUUID()
    await c.router.publish(routingOf(['m1.lb.test'], [app1.backend()], first))
    await c.router.publish(routingOf(['m2.lb.test'], [app2.backend()]))
    await c.router.publish(routingOf(['m1.lb.test', 'm1b.lb.test'], [app1.backend('draining'), app2.backend()], first))
    await c.router.publish(routingOf(['m3.lb.test'], []))

    const revision = c.revision()
    expect(revision).toBeGreaterThanOrEqual(4)
    for (const node of [a, b]) {
      expect(node.agent.applied().revision).toBe(revision)
      expect(c.report(node.name)).toMatchObject({ revision, seenRevision: revision, lastError: null })
      expect(await get(node.haproxy.port, 'm1.lb.test')).toEqual({ status: 200, body: 'app-2' })
      expect(await get(node.haproxy.port, 'm1b.lb.test')).toEqual({ status: 200, body: 'app-2' })
      expect(await get(node.haproxy.port, 'm2.lb.test')).toEqual({ status: 200, body: 'app-2' })
      expect((await get(node.haproxy.port, 'm3.lb.test')).status).toBe(503)
    }
    // Same state, same files: both nodes render identically apart from their name and port.
    const maps = await Promise.all([a, b].map((n) => readFile(path.join(n.dir, HOSTS_MAP_FILE), 'utf8')))
    expect(maps[0]).toBe(maps[1])
    expect(maps[0]).toContain('m1b.lb.test')
  })

  it('coalesces a burst: revisions published while it applies are skipped for the latest', async () => {
    const c = cluster()
    const node = await lbNode(c, 'lb-burst', { applyDelayMs: 400 })
    const app = await appserver('burst')
    const instanceId = randomUUID()
    // sync writes without waiting for the nodes: five revisions land while the first apply is still running.
    for (let i = 1; i <= 5; i++) await c.router.sync(routingOf([`b${i}.lb.test`], [app.backend()], instanceId))
    const latest = c.revision()
    await until(() => node.agent.applied().revision === latest, 'the latest revision to be applied')
    // The initial apply, then at most one per revision it happened to read: never all five.
    expect(node.events.length - 1).toBeLessThanOrEqual(2)
    expect(await get(node.haproxy.port, 'b5.lb.test')).toEqual({ status: 200, body: 'burst' })
    expect((await get(node.haproxy.port, 'b1.lb.test')).status).toBe(404)
    await until(() => c.report('lb-burst')?.revision === latest, 'the report of the latest revision')
  })

  it('keeps HAProxy serving through a Consul outage, logs it once, and catches up when Consul returns', async () => {
    const c = cluster()
    const node = await lbNode(c, 'lb-out')
    const [app, app2] = await Promise.all([appserver('steady'), appserver('later')])
    await c.router.publish(routingOf(['out.lb.test'], [app.backend()]))
    const traffic = load(node.haproxy.port, 'out.lb.test')
    await traffic.more(10)

    await consul.pause()
    let resumed = false
    try {
      const pausedAt = performance.now()
      const pauseStart = Date.now()
      await until(
        () => node.logs.lines.some((l) => l.level === 40 && l.msg.startsWith('reading the routing from Consul')),
        'the outage to be logged',
      )
      // Long enough for several retries (backoff 50 ms doubling to 500 ms) and heartbeats (300 ms), with traffic.
      await until(() => Date.now() - pauseStart > 1500, 'retries during the outage')
      await traffic.more(20)
      const during = traffic.samples.filter((s) => s.startedAt > pausedAt)
      expect(during.length).toBeGreaterThanOrEqual(20)
      expect(failures(during)).toEqual([])
      await consul.resume()
      resumed = true
    } finally {
      if (!resumed) await consul.resume()
    }

    // Published after the outage: publish waits for the node, so it resolving means the agent caught up.
    await c.router.publish(routingOf(['later.lb.test'], [app2.backend()]))
    const revision = c.revision()
    expect(node.agent.applied().revision).toBe(revision)
    expect(c.report('lb-out')).toMatchObject({ revision, seenRevision: revision, lastError: null })
    expect(await get(node.haproxy.port, 'later.lb.test')).toEqual({ status: 200, body: 'later' })
    const samples = await traffic.stop()
    expect(failures(samples)).toEqual([])

    const lines = node.logs.lines
    const warnings = lines.filter((l) => l.level === 40 && l.msg.startsWith('reading the routing'))
    expect(warnings).toHaveLength(1)
    const recovered = lines.find((l) => l.msg.startsWith('reading the routing') && l.msg.endsWith('works again'))
    expect(recovered?.attempts).toBeGreaterThanOrEqual(3)
    expect(lines.filter((l) => l.level === 40 && l.msg.startsWith("writing this node's report"))).toHaveLength(1)
    expect(node.logs.text()).not.toContain(TOKEN)
  })

  it('refuses an invalid change and reports it, keeps traffic flowing, then applies the next valid change', async () => {
    const c = cluster()
    const keys = consulKeys(c.prefix)
    const node = await lbNode(c, 'lb-bad')
    const app = await appserver('good')
    const okId = randomUUID()
    await c.router.publish(routingOf(['ok.lb.test'], [app.backend()], okId))
    const good = c.revision()
    const traffic = load(node.haproxy.port, 'ok.lb.test')
    await traffic.more(10)

    // 1. An instance whose value fails its schema, written with a new revision in one transaction.
    const badId = randomUUID()
    const broken = {
      ...routingOf(['bad.lb.test'], []),
      instanceId: badId,
      revision: good + 1,
      backends: [{ appserverId: 'x', host: '127.0.0.1', port: 'eighty', role: 'active' }],
    }
    const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64')
    await c.txn([
      { KV: { Verb: 'set', Key: keys.instance(badId), Value: b64(broken) } },
      { KV: { Verb: 'set', Key: keys.revision, Value: b64({ revision: good + 1, publishedAt: new Date().toISOString() }) } },
    ])
    await until(() => c.report('lb-bad')?.seenRevision === good + 1, 'the refusal to be reported')
    const refused = c.report('lb-bad')
    expect(refused).toMatchObject({ revision: good, seenRevision: good + 1 })
    expect(refused?.lastError).toContain(`instance ${badId}: backends.0.port`)
    expect(refused?.lastErrorAt).not.toBeNull()
    expect(node.agent.applied().revision).toBe(good)
    expect((await get(node.haproxy.port, 'bad.lb.test')).status).toBe(404)

    // The next valid change (the control plane writing that instance properly) is applied.
    await c.router.publish(routingOf(['bad.lb.test'], [app.backend()], badId))
    expect(node.agent.applied().revision).toBe(c.revision())
    expect(c.report('lb-bad')).toMatchObject({ revision: c.revision(), seenRevision: c.revision() })
    expect(await get(node.haproxy.port, 'bad.lb.test')).toEqual({ status: 200, body: 'good' })

    // 2. A change the render refuses (a host name HAProxy cannot take): the publish fails fast with the node's error.
    const before = c.revision()
    const err = await rejection(
      c.router.publish(routingOf(['ok.lb.test'], [{ appserverId: 'odd', address: 'http://bad_host:8080', role: 'active' }], okId)),
    )
    expect(err.message).toMatch(new RegExp(`load balancer lb-bad could not apply revision ${before + 1}: .*invalid host "bad_host"`))
    expect(c.report('lb-bad')).toMatchObject({ revision: before, seenRevision: before + 1 })
    await traffic.more(20)
    expect(await get(node.haproxy.port, 'ok.lb.test')).toEqual({ status: 200, body: 'good' })

    // …and the next valid one is applied.
    await c.router.publish(routingOf(['ok.lb.test', 'ok2.lb.test'], [app.backend()], okId))
    expect(node.agent.applied().revision).toBe(c.revision())
    expect(await get(node.haproxy.port, 'ok2.lb.test')).toEqual({ status: 200, body: 'good' })
    const samples = await traffic.stop()
    expect(failures(samples)).toEqual([])
    expect(node.logs.lines.filter((l) => l.msg.startsWith('routing revision refused'))).toHaveLength(1)
  })

  it('a restarted agent re-applies everything: files rewritten, HAProxy reloaded, requests still served', async () => {
    const c = cluster()
    const node = await lbNode(c, 'lb-re')
    const app = await appserver('again')
    const instanceId = randomUUID()
    await c.router.publish(routingOf(['re.lb.test'], [app.backend()], instanceId))
    const revision = c.revision()
    const traffic = load(node.haproxy.port, 're.lb.test')
    await traffic.more(10)

    await node.agent.stop()
    const mapFile = path.join(node.dir, HOSTS_MAP_FILE)
    const configFile = path.join(node.dir, CONFIG_FILE)
    // Files damaged while no agent runs: HAProxy keeps what it loaded, the next agent must not trust them.
    await writeFile(mapFile, '')
    const configInode = (await stat(configFile)).ino
    const workersBefore = (await node.haproxy.control.processes()).workers

    const agent = node.startAgent()
    await agent.ready()
    expect(agent.applied()).toEqual({ revision, method: 'reload' })
    expect(await readFile(mapFile, 'utf8')).toBe(`re.lb.test ${backendName(instanceId)}\n`)
    expect((await stat(configFile)).ino).not.toBe(configInode)
    const workersAfter = (await node.haproxy.control.processes()).workers
    expect(workersAfter).not.toEqual(workersBefore)
    await traffic.more(20)
    expect(await get(node.haproxy.port, 're.lb.test')).toEqual({ status: 200, body: 'again' })
    expect(c.report('lb-re')).toMatchObject({ revision, seenRevision: revision, method: 'reload' })
    const samples = await traffic.stop()
    expect(failures(samples)).toEqual([])
  })
})
