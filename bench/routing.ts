/**
 * Routing benchmark: what the load-balancer side costs and how fast it follows the control plane.
 *
 * 1. renderHaproxy for a fleet of 10,000 instances (2 appservers each, the Open edX blueprint's four hostnames), and
 *    planChanges for one changed instance among them (pure functions, in this process).
 * 2. Consul change → new backend serving: the consul router publishes to the Consul double, an lb-agent in this
 *    process applies it to a real HAProxy; time from the publish call until a request with that Host is answered by
 *    the new backend, for switches applied through the runtime API and for ones that need a reload.
 * 3. Failed requests during blue/green switches under constant load (autocannon), runtime and reload.
 * 4. The agent's memory after applying 10,000 instances, in a child process of its own (bench/routing-agent.ts).
 */
import { fork } from 'node:child_process'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { readFileSync } from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import pino from 'pino'
import { openedxHostnames, OPENEDX_HEALTH_PATH } from '@/lib/blueprints/render-openedx'
import { firstFreeSlug, slugify } from '@/lib/instances/slug'
import { EMPTY_ROUTING, startLbAgent, type LbAgent } from '@/lb-agent/agent'
import { planChanges } from '@/lb-agent/plan'
import { renderHaproxy, type RenderOptions } from '@/lb-agent/render'
import { consulKeys, ZAgentReport, type RoutedInstance, type RoutingState } from '@/provisioners/consul/layout'
import { createConsulRouter, type ConsulRouter } from '@/provisioners/consul/router'
import type { DesiredRouting } from '@/provisioners/types'
import { startConsulDouble, type ConsulDouble } from '@/test/fakes/consul/server'
import { freePort, startHaproxy, testRenderOptions, type StartedHaproxy } from '@/test/support/haproxy'
import { ask, startLoad, type LoadFigures } from '@/test/support/routing-load'
import { ZChildMessage, type AgentChildReport } from './routing-agent'
import { ORG_KINDS, ORG_PLACES, PURPOSES, QUALIFIERS } from './fleet-names'
import { BenchError, hardware, hardwareLine, loadAverage, onCleanup, percentile, runCleanups, seededRandom, table } from './support'

export const title = 'Routing: HAProxy render and plan for 10,000 instances, Consul → HAProxy lag, switches under load, agent memory'

const ROOT = path.resolve(import.meta.dirname, '..')
const RESULTS_FILE = path.join(ROOT, 'test-results', 'bench-routing.json')
const HOSTING_ZONE = 'learn.example.com'
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

// ---------------------------------------------------------------------------------------------
// Figures

interface Figures {
  n: number
  p50: number
  p95: number
  max: number
}

function figures(samples: readonly number[]): Figures {
  const sorted = [...samples].sort((a, b) => a - b)
  return { n: sorted.length, p50: percentile(sorted, 50), p95: percentile(sorted, 95), max: sorted[sorted.length - 1] ?? Number.NaN }
}

const ms = (n: number) => (Number.isFinite(n) ? (n < 10 ? n.toFixed(2) : n.toFixed(1)) : '-')
const mib = (bytes: number) => `${(bytes / 1024 ** 2).toFixed(1)} MiB`

/** A clean-up that may be run early (between phases) and again from runCleanups without harm. */
function once(fn: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined
  return () => (done ??= fn())
}

// ---------------------------------------------------------------------------------------------
// A fleet with realistic names: the Open edX blueprint's hostnames under a hosting zone, two appservers each

function uuid(random: () => number): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(random() * 16).toString(16)).join('')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7${hex.slice(13, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

/** Instances as Consul would hold them at revision 1, with `appservers` active appservers each. */
function fleet(count: number, seed: number, appservers: number): RoutingState {
  const random = seededRandom(seed)
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!
  const taken = new Set<string>()
  const instances: RoutedInstance[] = []
  for (let i = 0; i < count; i++) {
    const name = `${pick(ORG_PLACES)} ${pick(ORG_KINDS)} ${pick(PURPOSES)}${pick(QUALIFIERS)}`
    const slug = firstFreeSlug(slugify(name), taken)
    taken.add(slug)
    // 127.x.y.z: loopback on Linux, so the memory phase's HAProxy gets an immediate refusal from each health check
    // instead of holding thousands of connection attempts open; rendered like any other address.
    const backends = Array.from({ length: appservers }, (_, k) => ({
      appserverId: uuid(random),
      host: `127.${1 + (i >> 8)}.${i & 255}.${10 + k}`,
      port: 8000,
      role: 'active' as const,
    }))
    instances.push({
      instanceId: uuid(random),
      slug,
      revision: 1,
      hostnames: openedxHostnames({ slug }, HOSTING_ZONE).map((h) => h.hostname),
      backends,
      healthPath: OPENEDX_HEALTH_PATH,
      maintenance: false,
      certificates: [],
    })
  }
  return { revision: 1, publishedAt: new Date(0).toISOString(), instances, certificates: [], challenges: [] }
}

// ---------------------------------------------------------------------------------------------
// 1. Render and plan

interface RenderFigures {
  instances: number
  render: Figures
  plan: Figures
  planCommands: number
  configBytes: number
  mapBytes: number
}

function renderBench(count: number, runs: number): RenderFigures {
  const state = fleet(count, 20261126, 2)
  const options: RenderOptions = {
    nodeName: 'lb-1',
    bindAddress: '0.0.0.0',
    httpPort: 80,
    configDir: '/etc/haproxy/tenon',
    statsSocket: '/run/haproxy/tenon.sock',
  }
  const renderMs: number[] = []
  let rendered = renderHaproxy(state, options)
  for (let i = 0; i < runs + 2; i++) {
    const t0 = performance.now()
    rendered = renderHaproxy(state, options)
    if (i >= 2) renderMs.push(performance.now() - t0)
  }
  // One instance redeployed blue/green: a new appserver active, its two old ones draining.
  const random = seededRandom(7)
  const changedIndex = Math.floor(count / 2)
  const changed = state.instances[changedIndex]!
  const next: RoutingState = {
    ...state,
    revision: 2,
    publishedAt: new Date(1000).toISOString(),
    instances: state.instances.map((instance, i) =>
      i !== changedIndex
        ? instance
        : {
            ...instance,
            revision: 2,
            backends: [
              { appserverId: uuid(random), host: '127.250.0.1', port: 8000, role: 'active' as const },
              ...changed.backends.map((b) => ({ ...b, role: 'draining' as const })),
            ],
          },
    ),
  }
  const planMs: number[] = []
  let commands = 0
  for (let i = 0; i < runs + 2; i++) {
    const t0 = performance.now()
    const plan = planChanges(state, next, options)
    const took = performance.now() - t0
    if (plan.kind !== 'runtime')
      throw new BenchError(`one changed instance among ${count} should be a runtime change, the plan is ${plan.kind}`)
    commands = plan.commands.length
    if (i >= 2) planMs.push(took)
  }
  return {
    instances: count,
    render: figures(renderMs),
    plan: figures(planMs),
    planCommands: commands,
    configBytes: Buffer.byteLength(rendered.config),
    mapBytes: Buffer.byteLength(rendered.hostsMap),
  }
}

// ---------------------------------------------------------------------------------------------
// A node: Consul double, HAProxy, and an lb-agent in this process; the router the control plane uses

interface Backend {
  id: string
  address: string
  close(): Promise<void>
}

/** A stand-in appserver: answers everything with 200 and its id in `x-tenon-appserver`, like the sample app. */
async function startBackend(id: string, host: '127.0.0.1' | 'localhost' = '127.0.0.1'): Promise<Backend> {
  const server = http.createServer((_req, res) => {
    res.setHeader('x-tenon-appserver', id)
    res.writeHead(200, { 'content-type': 'text/plain' })
    res.end(`served by ${id}\n`)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  const close = once(
    () =>
      new Promise<void>((resolve) => {
        // As the sample app stops on SIGTERM: stop listening and drop every connection, idle or not.
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  )
  onCleanup(close)
  return { id, address: `http://${host}:${port}`, close }
}

interface Node {
  consul: ConsulDouble
  haproxy: StartedHaproxy
  agent: LbAgent
  router: ConsulRouter
  stop(): Promise<void>
}

async function startNode(): Promise<Node> {
  const prefix = 'bench'
  const consul = await startConsulDouble()
  const stopConsul = once(() => consul.stop())
  onCleanup(stopConsul)
  const configDir = await mkdtemp(path.join(os.tmpdir(), 'tenon-bench-routing-'))
  const removeDir = once(() => rm(configDir, { recursive: true, force: true }))
  onCleanup(removeDir)
  // The product's health-check timings (2 s, fall 3, rise 2), not the tests' faster ones.
  const render = testRenderOptions(configDir, await freePort(), { nodeName: 'bench-lb', healthCheck: { interMs: 2000, fall: 3, rise: 2 } })
  const haproxy = await startHaproxy({ configDir, rendered: renderHaproxy(EMPTY_ROUTING, render) })
  const stopHaproxy = once(() => haproxy.stop())
  onCleanup(stopHaproxy)
  const agent = startLbAgent({
    consul: { address: consul.url },
    prefix,
    render,
    haproxy: haproxy.control,
    heartbeatMs: 10_000,
    log: pino({ level: process.env.BENCH_LOG_LEVEL ?? 'silent' }),
  })
  const stopAgent = once(() => agent.stop())
  onCleanup(stopAgent)
  await agent.ready()
  const router = createConsulRouter({ address: consul.url, prefix, timeoutMs: 5000, applyTimeoutMs: 20_000, agentStaleMs: 60_000 })
  const stopRouter = once(async () => router.close())
  onCleanup(stopRouter)
  return {
    consul,
    haproxy,
    agent,
    router,
    async stop() {
      await stopRouter()
      await stopAgent()
      await stopHaproxy()
      await stopConsul()
      await removeDir()
    },
  }
}

function routing(instanceId: string, hostname: string, backends: { backend: Backend; role: 'active' | 'draining' }[]): DesiredRouting {
  return {
    instanceId,
    slug: instanceId,
    hostnames: [hostname],
    backends: backends.map(({ backend, role }) => ({ appserverId: backend.id, address: backend.address, role })),
    healthPath: '/heartbeat',
    maintenance: false,
    certificates: [],
  }
}

/** Publishes and polls (every 2 ms, one kept-alive connection) until `expected` answers for `hostname`. */
async function publishAndWait(
  node: { router: ConsulRouter; haproxy: { port: number } },
  desired: DesiredRouting,
  expected: string,
  poller: http.Agent,
): Promise<{ servedMs: number | null; publishedMs: number; pollErrors: number }> {
  const t0 = performance.now()
  let publishedMs: number | undefined
  const published = node.router.publish(desired).then(() => (publishedMs = performance.now() - t0))
  published.catch(() => {})
  let servedMs: number | null = null
  let pollErrors = 0
  const hostname = desired.hostnames[0] ?? ''
  while (performance.now() - t0 < 20_000) {
    const answer = await ask(node.haproxy.port, hostname, { agent: poller, timeoutMs: 5000 }).catch(() => undefined)
    if (!answer) pollErrors++
    else if (answer.appserver === expected) {
      servedMs = performance.now() - t0
      break
    }
    await sleep(2)
  }
  try {
    await published
  } catch (err) {
    throw new BenchError(`publishing ${desired.instanceId} failed: ${err instanceof Error ? err.message : String(err)}`)
  }
  return { servedMs, publishedMs: publishedMs ?? Number.NaN, pollErrors }
}

// ---------------------------------------------------------------------------------------------
// 2. Consul change → new backend serving

interface LagFigures {
  switches: number
  served: Figures
  published: Figures
  /** switches whose new backend did not answer within 20 s */
  missed: number
  pollErrors: number
  methods: Record<string, number>
}

function lagFigures(samples: { servedMs: number | null; publishedMs: number; pollErrors: number; method: string }[]): LagFigures {
  const methods: Record<string, number> = {}
  for (const s of samples) methods[s.method] = (methods[s.method] ?? 0) + 1
  return {
    switches: samples.length,
    served: figures(samples.flatMap((s) => (s.servedMs === null ? [] : [s.servedMs]))),
    published: figures(samples.map((s) => s.publishedMs)),
    missed: samples.filter((s) => s.servedMs === null).length,
    pollErrors: samples.reduce((n, s) => n + s.pollErrors, 0),
    methods,
  }
}

/** Blue/green within one backend: the new appserver added as a server (runtime API), the previous one draining. */
async function runtimeLag(node: Node, switches: number): Promise<LagFigures> {
  const poller = new http.Agent({ keepAlive: true, maxSockets: 1 })
  const hostname = 'lag-runtime.bench.example'
  const backends = [await startBackend('lag-rt-0')]
  await publishAndWait(node, routing('bench-lag-runtime', hostname, [{ backend: backends[0]!, role: 'active' }]), 'lag-rt-0', poller)
  const samples = []
  for (let i = 1; i <= switches; i++) {
    const next = await startBackend(`lag-rt-${i}`)
    backends.push(next)
    const previous = backends[i - 1]!
    const desired = routing('bench-lag-runtime', hostname, [
      { backend: next, role: 'active' },
      { backend: previous, role: 'draining' },
    ])
    const result = await publishAndWait(node, desired, next.id, poller)
    samples.push({ ...result, method: node.agent.applied().method ?? 'none' })
    // Out of the routing with this switch, and the agent applied it (publish waited): stop it.
    if (i >= 2) await backends[i - 2]!.close()
  }
  poller.destroy()
  return lagFigures(samples)
}

/** A new instance each time: a new backend in haproxy.cfg, which only a reload brings in. */
async function reloadLag(node: Node, switches: number): Promise<LagFigures> {
  const poller = new http.Agent({ keepAlive: true, maxSockets: 1 })
  const samples = []
  for (let i = 0; i < switches; i++) {
    const backend = await startBackend(`lag-rl-${i}`)
    const desired = routing(`bench-lag-reload-${i}`, `lag-reload-${i}.bench.example`, [{ backend, role: 'active' }])
    const result = await publishAndWait(node, desired, backend.id, poller)
    samples.push({ ...result, method: node.agent.applied().method ?? 'none' })
  }
  poller.destroy()
  return lagFigures(samples)
}

// ---------------------------------------------------------------------------------------------
// 3. Switches under load

interface LoadRun {
  mode: 'runtime' | 'reload'
  switches: number
  load: LoadFigures
  /** answers from another appserver than the new one in the 20 requests right after each switch */
  wrongAfterSwitch: number
  methods: Record<string, number>
}

/**
 * Switches the way activation does: publish the new appserver active with the old one draining, wait a drain
 * period, publish without the old one, then stop it. In `reload` mode the appservers are named `localhost`, a DNS
 * name, so every new server needs a reload (the removals still go through the runtime API).
 */
async function switchesUnderLoad(
  node: Node,
  mode: 'runtime' | 'reload',
  switches: number,
  rate: number,
  connections: number,
): Promise<LoadRun> {
  const host = mode === 'runtime' ? '127.0.0.1' : 'localhost'
  const instanceId = `bench-load-${mode}`
  const hostname = `load-${mode}.bench.example`
  const poller = new http.Agent({ keepAlive: true, maxSockets: 1 })
  const fresh = new http.Agent({ keepAlive: false })
  let current = await startBackend(`load-${mode}-0`, host)
  await publishAndWait(node, routing(instanceId, hostname, [{ backend: current, role: 'active' }]), current.id, poller)
  const methods: Record<string, number> = {}
  const count = () => {
    const method = node.agent.applied().method ?? 'none'
    methods[method] = (methods[method] ?? 0) + 1
  }
  let wrong = 0
  const load = startLoad({ port: node.haproxy.port, host: hostname, connections, rate })
  let figuresOfLoad: LoadFigures
  try {
    while (load.answered() < rate) await sleep(50)
    for (let i = 1; i <= switches; i++) {
      const next = await startBackend(`load-${mode}-${i}`, host)
      await node.router.publish(
        routing(instanceId, hostname, [
          { backend: next, role: 'active' },
          { backend: current, role: 'draining' },
        ]),
      )
      count()
      // New connections: a kept-alive one may still be on the worker before a reload, which finishes it on the old
      // configuration (the old appserver, still draining), as HAProxy should.
      for (let k = 0; k < 20; k++) {
        const answer = await ask(node.haproxy.port, hostname, { agent: fresh }).catch(() => undefined)
        if (answer?.appserver !== next.id) wrong++
      }
      await sleep(1000)
      await node.router.publish(routing(instanceId, hostname, [{ backend: next, role: 'active' }]))
      count()
      await current.close()
      current = next
    }
    await sleep(1000)
  } finally {
    figuresOfLoad = await load.stop()
    poller.destroy()
    fresh.destroy()
  }
  return { mode, switches, load: figuresOfLoad, wrongAfterSwitch: wrong, methods }
}

// ---------------------------------------------------------------------------------------------
// 4. The agent's memory with 10,000 instances

interface MemoryFigures {
  instances: number
  firstApplyMs: number
  method: string | undefined
  /** the agent process right after its first apply, and after a few seconds idle */
  baseline: { rss: number; heapUsed: number }
  applied: { rss: number; heapUsed: number }
  settled: { rss: number; heapUsed: number; vmHwm: number | null }
  haproxyWorkerRss: number | null
  backendsLoaded: number
  appservers: number
  /** blue/green switches of one instance among them, applied through the runtime API */
  lagAtScale: LagFigures
  /** HAProxy's open-file limit (soft/hard) */
  fdLimit: string
}

/**
 * The lag of part 2 with the whole fleet loaded: every change makes the agent read the whole routing tree, render
 * and validate the whole configuration, whatever the size of the change.
 */
async function switchesAmong(
  consul: ConsulDouble,
  prefix: string,
  port: number,
  target: RoutedInstance,
  switches: number,
): Promise<LagFigures> {
  const router = createConsulRouter({ address: consul.url, prefix, timeoutMs: 5000, applyTimeoutMs: 60_000, agentStaleMs: 60_000 })
  const poller = new http.Agent({ keepAlive: true, maxSockets: 1 })
  const samples = []
  let previous: Backend | undefined
  try {
    for (let i = 0; i < switches; i++) {
      const next = await startBackend(`scale-${i}`)
      const backends = [next, previous].flatMap((b, k) =>
        b ? [{ appserverId: b.id, address: b.address, role: k === 0 ? ('active' as const) : ('draining' as const) }] : [],
      )
      const desired: DesiredRouting = { ...pickRouting(target), backends }
      const result = await publishAndWait({ router, haproxy: { port } }, desired, next.id, poller)
      // The agent runs in the child: its report in Consul says how it applied the change.
      const report = ZAgentReport.safeParse(JSON.parse(consul.state.get(consulKeys(prefix).agent('bench-memory'))?.value ?? 'null'))
      samples.push({ ...result, method: report.success ? report.data.method : 'unknown' })
      await previous?.close()
      previous = next
    }
  } finally {
    poller.destroy()
    router.close()
  }
  return lagFigures(samples)
}

function pickRouting(instance: RoutedInstance): Omit<DesiredRouting, 'backends'> {
  return {
    instanceId: instance.instanceId,
    slug: instance.slug,
    hostnames: instance.hostnames,
    healthPath: instance.healthPath,
    maintenance: false,
    certificates: [],
  }
}

/** This process's open-file limit (soft/hard), which HAProxy inherits (Linux). */
function openFileLimit(): string {
  try {
    const match = /^Max open files\s+(\S+)\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))
    return match ? `${match[1]}/${match[2]}` : 'unknown'
  } catch {
    return 'unknown'
  }
}

/** VmRSS / VmHWM of a process in bytes (Linux), null elsewhere. */
function procStatus(pid: number, field: 'VmRSS' | 'VmHWM'): number | null {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return match ? Number(match[1]) * 1024 : null
  } catch {
    return null
  }
}

/**
 * HAProxy keeps a file descriptor for every server it health-checks besides two per connection, and will not load a
 * configuration it cannot get them for: 10,000 instances × 2 appservers asked for 20,240 under the development VM's
 * hard limit of 20,000, which cannot be raised there. systemd's default hard limit (524,288) leaves room for far more.
 * So this runs one appserver per instance (the product's default; two only during a switch) unless told otherwise.
 */
async function agentMemory(count: number, appservers: number): Promise<MemoryFigures> {
  const prefix = 'bench-memory'
  const keys = consulKeys(prefix)
  const consul = await startConsulDouble()
  const stopConsul = once(() => consul.stop())
  onCleanup(stopConsul)
  const state = fleet(count, 20261127, appservers)
  for (const instance of state.instances) consul.state.put(keys.instance(instance.instanceId), JSON.stringify(instance))
  consul.state.put(keys.revision, JSON.stringify({ revision: 1, publishedAt: new Date().toISOString() }))

  const configDir = await mkdtemp(path.join(os.tmpdir(), 'tenon-bench-memory-'))
  const removeDir = once(() => rm(configDir, { recursive: true, force: true }))
  onCleanup(removeDir)
  // Health checks every 30 s: 20,000 servers checked every 2 s would keep HAProxy busy, which is not what this measures.
  const healthCheckInterMs = 30_000
  const render = testRenderOptions(configDir, await freePort(), { nodeName: 'bench-memory', healthCheck: { interMs: healthCheckInterMs } })
  const haproxy = await startHaproxy({ configDir, rendered: renderHaproxy(EMPTY_ROUTING, render) })
  const stopHaproxy = once(() => haproxy.stop())
  onCleanup(stopHaproxy)

  const child = fork(path.join(ROOT, 'bench', 'routing-agent.ts'), [], {
    execArgv: ['--import', 'tsx'],
    env: {
      ...process.env,
      TENON_BENCH_AGENT: JSON.stringify({
        consulAddress: consul.url,
        prefix,
        configDir,
        statsSocket: render.statsSocket,
        masterSocket: haproxy.masterSocket,
        httpPort: render.httpPort,
        healthCheckInterMs,
        settleMs: 5000,
      }),
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const stopChild = once(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.send('stop')
    const killer = setTimeout(() => child.kill('SIGKILL'), 15_000)
    await exited
    clearTimeout(killer)
  })
  onCleanup(stopChild)

  const reports: AgentChildReport[] = []
  let vmHwm: number | null = null
  let rss: number | null = null
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new BenchError(`the agent did not apply ${count} instances within 5 minutes`)), 300_000)
    child.on('message', (raw) => {
      const parsed = ZChildMessage.safeParse(raw)
      if (!parsed.success) return
      const message = parsed.data
      if (message.stage === 'failed') {
        clearTimeout(timer)
        reject(new BenchError(`the agent process failed: ${message.error}`))
        return
      }
      reports.push(message)
      if (message.stage === 'settled') {
        rss = procStatus(child.pid ?? 0, 'VmRSS')
        vmHwm = procStatus(child.pid ?? 0, 'VmHWM')
        clearTimeout(timer)
        resolve()
      }
    })
    void exited.then(() => {
      clearTimeout(timer)
      reject(new BenchError(`the agent process exited before it reported (exit code ${child.exitCode})`))
    })
  })
  const applied = reports.find((r) => r.stage === 'applied')
  const settled = reports.find((r) => r.stage === 'settled')
  if (!applied || !settled) throw new BenchError('the agent process did not report its memory')
  if (applied.revision !== 1)
    throw new BenchError(
      `the agent did not apply the fleet (applied revision ${applied.revision}, expected 1); HAProxy said:\n${haproxy.output().slice(-3000)}`,
    )
  const backendsLoaded = (await haproxy.control.query('show backend'))
    .split('\n')
    .filter((l) => l.startsWith('be_') && l !== 'be_maintenance' && l !== 'be_unknown').length
  if (backendsLoaded !== count) throw new BenchError(`HAProxy runs ${backendsLoaded} instance backends after the apply, expected ${count}`)
  const worker = (await haproxy.control.processes()).workers[0]
  const haproxyWorkerRss = worker ? procStatus(worker, 'VmRSS') : null
  const lagAtScale = await switchesAmong(consul, prefix, haproxy.port, state.instances[0]!, 20)

  await stopChild()
  await stopHaproxy()
  await stopConsul()
  await removeDir()
  return {
    instances: count,
    firstApplyMs: applied.firstApplyMs,
    method: applied.method,
    baseline: { rss: applied.baselineRss, heapUsed: applied.baselineHeapUsed },
    applied: { rss: applied.rss, heapUsed: applied.heapUsed },
    settled: { rss: rss ?? settled.rss, heapUsed: settled.heapUsed, vmHwm },
    haproxyWorkerRss,
    backendsLoaded,
    appservers,
    lagAtScale,
    fdLimit: openFileLimit(),
  }
}

// ---------------------------------------------------------------------------------------------

const indent = (text: string) =>
  text
    .split('\n')
    .map((l) => `     ${l}`)
    .join('\n')
const methodList = (methods: Record<string, number>) =>
  Object.entries(methods)
    .map(([m, n]) => `${m} ${n}`)
    .join(', ')

function printRender(r: RenderFigures, runs: number) {
  console.log(`  1. render and plan, ${r.instances} instances × 2 appservers × 4 hostnames (${runs} timed runs after 2 warm-up runs)`)
  const row = (name: string, f: Figures) => [name, String(f.n), ms(f.p50), ms(f.p95), ms(f.max)]
  console.log(
    indent(
      table(
        ['figure (ms)', 'n', 'p50', 'p95', 'max'],
        [
          row('renderHaproxy (haproxy.cfg + hosts.map)', r.render),
          row(`planChanges, one instance switched (${r.planCommands} commands)`, r.plan),
        ],
      ),
    ),
  )
  console.log(`     haproxy.cfg ${mib(r.configBytes)}, hosts.map ${mib(r.mapBytes)}`)
}

function printLag(runtime: LagFigures, reload: LagFigures) {
  console.log(`  2. Consul change → new backend serving (publish call → first answer from the new backend; polled every 2 ms)`)
  const row = (name: string, f: LagFigures) => [
    name,
    String(f.served.n),
    ms(f.served.p50),
    ms(f.served.p95),
    ms(f.served.max),
    ms(f.published.p50),
    ms(f.published.p95),
    methodList(f.methods),
    String(f.missed),
    String(f.pollErrors),
  ]
  console.log(
    indent(
      table(
        ['change', 'n', 'p50 ms', 'p95 ms', 'max ms', 'publish p50', 'publish p95', 'agent applied by', 'missed', 'poll errors'],
        [row('server swap in a backend (runtime API)', runtime), row('new instance (reload)', reload)],
      ),
    ),
  )
  console.log('     (publish: until router.publish resolved, i.e. the node reported it; the router looks every 100 ms)')
}

function printLoad(runs: LoadRun[], rate: number, connections: number) {
  console.log(`  3. blue/green switches under load: autocannon, ${connections} connections, ${rate} requests/s, through HAProxy`)
  const header = ['switches applied by', 'n', 'requests', 'errors', 'timeouts', 'non-2xx', 'lost', 'lost after close', 'wrong after switch']
  const rows = runs.map((r) => [
    methodList(r.methods),
    String(r.switches),
    String(r.load.requests),
    String(r.load.errors),
    String(r.load.timeouts),
    String(r.load.non2xx),
    String(r.load.lost),
    String(r.load.lostAfterClose),
    String(r.wrongAfterSwitch),
    ms(r.load.latency.p50),
    ms(r.load.latency.p99),
    ms(r.load.latency.max),
  ])
  console.log(indent(table([...header, 'p50 ms', 'p99 ms', 'max ms'], rows)))
  console.log('     (goal: 0 errors, timeouts, non-2xx and lost. lost after close: requests autocannon wrote on a connection after')
  console.log('      HAProxy answered "Connection: close" on it, which a browser would have sent on a new connection instead)')
}

function printMemory(m: MemoryFigures) {
  console.log(
    `  4. the agent (own process) after applying ${m.instances} instances × ${m.appservers} appserver(s) (${m.backendsLoaded} backends loaded, by ${m.method})`,
  )
  console.log(`     first apply (start → ready: read, parse, render, validate, write, reload): ${(m.firstApplyMs / 1000).toFixed(2)} s`)
  console.log(
    `     before the agent started: RSS ${mib(m.baseline.rss)}, heap used ${mib(m.baseline.heapUsed)} (Node, tsx and the modules)`,
  )
  console.log(`     right after: RSS ${mib(m.applied.rss)}, heap used ${mib(m.applied.heapUsed)}`)
  const hwm = m.settled.vmHwm === null ? '-' : mib(m.settled.vmHwm)
  console.log(`     5 s later:   RSS ${mib(m.settled.rss)}, heap used ${mib(m.settled.heapUsed)}; peak RSS (VmHWM) ${hwm}`)
  const l = m.lagAtScale
  console.log(
    `     then ${l.switches} blue/green switches of one of them (${methodList(l.methods)}): publish → served p50 ${ms(l.served.p50)} ms, p95 ${ms(l.served.p95)} ms, max ${ms(l.served.max)} ms; missed ${l.missed}`,
  )
  console.log(
    `     HAProxy's worker: RSS ${m.haproxyWorkerRss === null ? '-' : mib(m.haproxyWorkerRss)} (open-file limit ${m.fdLimit}, soft/hard)`,
  )
}

export async function run(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      parts: { type: 'string', default: '1,2,3,4' },
      instances: { type: 'string', default: '10000' },
      'render-runs': { type: 'string', default: '20' },
      switches: { type: 'string', default: '100' },
      'load-switches': { type: 'string', default: '20' },
      rate: { type: 'string', default: '200' },
      connections: { type: 'string', default: '6' },
      'memory-appservers': { type: 'string', default: '1' },
    },
    strict: false,
    allowPositionals: true,
  })
  const parts = new Set(String(values.parts).split(','))
  const count = Number(values.instances)
  const renderRuns = Number(values['render-runs'])
  const switches = Number(values.switches)
  const loadSwitches = Number(values['load-switches'])
  const rate = Number(values.rate)
  const connections = Number(values.connections)
  const loadBefore = loadAverage()
  const results: Record<string, unknown> = { at: new Date().toISOString(), machine: hardwareLine(hardware()) }

  if (parts.has('1')) {
    const rendered = renderBench(count, renderRuns)
    printRender(rendered, renderRuns)
    results.render = rendered
  }
  if (parts.has('2') || parts.has('3')) {
    const node = await startNode()
    if (parts.has('2')) {
      const runtime = await runtimeLag(node, switches)
      const reload = await reloadLag(node, switches)
      printLag(runtime, reload)
      results.lag = { runtime, reload }
    }
    if (parts.has('3')) {
      const loadRuns = [
        await switchesUnderLoad(node, 'runtime', loadSwitches, rate, connections),
        await switchesUnderLoad(node, 'reload', loadSwitches, rate, connections),
      ]
      printLoad(loadRuns, rate, connections)
      results.load = loadRuns
    }
    await node.stop()
  }
  if (parts.has('4')) {
    const memory = await agentMemory(count, Number(values['memory-appservers']))
    printMemory(memory)
    results.memory = memory
  }
  console.log(`  load average ${loadBefore} before, ${loadAverage()} after`)

  await mkdir(path.dirname(RESULTS_FILE), { recursive: true })
  await writeFile(RESULTS_FILE, JSON.stringify(results, null, 2))
  await runCleanups()
}

if (import.meta.url === `file://${process.argv[1]}`) {
  run()
    .then(() => process.exit(0))
    .catch(async (err: unknown) => {
      await runCleanups()
      console.error(err instanceof BenchError ? `\nbenchmark aborted: ${err.message}` : err)
      process.exit(1)
    })
}
