import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ApplyResult } from '@/lb-agent/haproxy'
import { planChanges, type ApplyPlan } from '@/lb-agent/plan'
import { renderHaproxy, type RenderOptions } from '@/lb-agent/render'
import type { RoutedBackend, RoutedInstance, RoutingState } from '@/provisioners/consul/layout'
import { freePort, startHaproxy, testRenderOptions, type StartedHaproxy } from '@/test/support/haproxy'
import { rejection } from '@/test/support/rejection'

/** Tiny appservers: each answers every request (health checks included) with its own name. */
const appservers = new Map<string, { server: http.Server; port: number }>()
let dir: string
let options: RenderOptions
let haproxy: StartedHaproxy
let applied: RoutingState

async function startAppserver(name: string) {
  const server = http.createServer((req, res) => {
    res.setHeader('content-type', 'text/plain')
    res.end(name)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (!address || typeof address === 'string') throw new Error('the appserver has no TCP address')
  appservers.set(name, { server, port: address.port })
}

function backend(name: string, role: RoutedBackend['role'] = 'active'): RoutedBackend {
  const appserver = appservers.get(name)
  if (!appserver) throw new Error(`no appserver ${name}`)
  return { appserverId: name, host: '127.0.0.1', port: appserver.port, role }
}

function instance(id: string, hostnames: string[], backends: RoutedBackend[]): RoutedInstance {
  return {
    instanceId: id,
    slug: id,
    revision: 1,
    hostnames,
    backends,
    healthPath: '/heartbeat',
    maintenance: !backends.some((b) => b.role === 'active'),
    certificates: [],
  }
}

const state = (...instances: RoutedInstance[]): RoutingState => ({
  revision: 1,
  publishedAt: null,
  instances,
  certificates: [],
  challenges: [],
})
const MAINT = instance('maint', ['maint.test'], [])

async function applyState(next: RoutingState): Promise<{ plan: ApplyPlan; result: ApplyResult }> {
  const plan = planChanges(applied, next, options)
  const result = await haproxy.control.apply(renderHaproxy(next, options), plan)
  applied = next
  return { plan, result }
}

interface Answer {
  status: number
  body: string
  contentType: string
  /** the old worker's last answer on a connection after a reload */
  closing: boolean
}

function get(host: string, agent?: http.Agent): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: haproxy.port, path: '/', headers: { host }, agent: agent ?? false }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (body += chunk))
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          body,
          contentType: String(res.headers['content-type']),
          closing: res.headers.connection === 'close',
        }),
      )
      res.on('error', reject)
    })
    req.setTimeout(5000, () => req.destroy(new Error('timed out')))
    req.on('error', reject)
    req.end()
  })
}

interface Sample extends Partial<Answer> {
  host: string
  startedAt: number
  error?: string
}

/** Several keep-alive clients asking `hosts` in a loop until stopped; every request and its outcome is recorded. */
function load(hosts: string[], clientsPerHost = 3) {
  let running = true
  const samples: Sample[] = []
  const agents: http.Agent[] = []
  const loops = hosts.flatMap((host) =>
    Array.from({ length: clientsPerHost }, async () => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
      agents.push(agent)
      while (running) {
        const startedAt = Date.now()
        try {
          samples.push({ host, startedAt, ...(await get(host, agent)) })
        } catch (err) {
          samples.push({ host, startedAt, error: err instanceof Error ? err.message : String(err) })
        }
      }
    }),
  )
  return {
    async stop(): Promise<Sample[]> {
      running = false
      await Promise.all(loops)
      for (const agent of agents) agent.destroy()
      return samples
    },
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const failures = (samples: Sample[]) => samples.filter((s) => s.error !== undefined || (s.status ?? 0) >= 500)

async function serverStates(backendName: string): Promise<{ name: string; weight: number }[]> {
  const text = await haproxy.control.query(`show servers state ${backendName}`)
  return text
    .split('\n')
    .filter((line) => /^\d+ /.test(line))
    .map((line) => line.split(' '))
    .map((f) => ({ name: f[3] ?? '', weight: Number(f[7]) }))
}

async function filesOf(directory: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  for (const entry of (await readdir(directory, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (entry.isDirectory())
      for (const [name, content] of Object.entries(await filesOf(path.join(directory, entry.name)))) out[`${entry.name}/${name}`] = content
    else if (!entry.name.endsWith('.sock')) out[entry.name] = await readFile(path.join(directory, entry.name), 'utf8')
  }
  return out
}

beforeAll(async () => {
  for (const name of ['a1', 'a2', 'a3', 'b1']) await startAppserver(name)
  dir = await mkdtemp(path.join(os.tmpdir(), 'tenon-lb-'))
  options = testRenderOptions(dir, await freePort())
  applied = state(instance('alpha', ['alpha.test'], [backend('a1')]), MAINT)
  haproxy = await startHaproxy({ configDir: dir, rendered: renderHaproxy(applied, options) })
})

afterAll(async () => {
  await haproxy?.stop()
  for (const { server } of appservers.values()) {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  }
  if (dir) await rm(dir, { recursive: true, force: true })
})

describe('HAProxy driven by the lb-agent', () => {
  it('routes by Host, answers the maintenance page and the unknown-host page', async () => {
    expect(await get('alpha.test')).toMatchObject({ status: 200, body: 'a1' })
    expect(await get(`ALPHA.test:${haproxy.port}`)).toMatchObject({ status: 200, body: 'a1' })
    const maintenance = await get('maint.test')
    expect(maintenance.status).toBe(503)
    expect(maintenance.contentType).toMatch(/^text\/html/)
    expect(maintenance.body).toContain('This site is being updated')
    const unknown = await get('nowhere.test')
    expect(unknown.status).toBe(404)
    expect(unknown.body).toContain('No site is configured for this address')
  })

  it('switches an instance to a new appserver at run time under load: no failed request, then only the new one', async () => {
    const traffic = load(['alpha.test'])
    await sleep(300)
    const switched = await applyState(state(instance('alpha', ['alpha.test'], [backend('a1', 'draining'), backend('a2')]), MAINT))
    const switchedAt = Date.now()
    expect(switched.plan.kind).toBe('runtime')
    expect(switched.result).toEqual({ method: 'runtime' })
    await sleep(500)
    // the control plane removes the drained appserver later
    const removed = await applyState(state(instance('alpha', ['alpha.test'], [backend('a2')]), MAINT))
    expect(removed.plan).toMatchObject({ kind: 'runtime', commands: expect.arrayContaining(['del server be_alpha/as_a1']) })
    expect(removed.result).toEqual({ method: 'runtime' })
    await sleep(300)
    const samples = await traffic.stop()

    expect(failures(samples)).toEqual([])
    expect(samples.every((s) => s.status === 200)).toBe(true)
    const after = samples.filter((s) => s.startedAt > switchedAt)
    expect(after.length).toBeGreaterThan(20)
    expect(after.filter((s) => s.body !== 'a2')).toEqual([])
    expect(samples.some((s) => s.body === 'a1')).toBe(true)
    expect(await serverStates('be_alpha')).toEqual([{ name: 'as_a2', weight: 100 }])
  })

  it('reloads for a new instance under load: no failed request, then the new instance answers', async () => {
    const before = await haproxy.control.processes()
    const traffic = load(['alpha.test', 'beta.test'])
    await sleep(300)
    const { plan, result } = await applyState(state(...applied.instances, instance('beta', ['beta.test'], [backend('b1')])))
    const reloadedAt = Date.now()
    expect(plan).toEqual({ kind: 'reload', reason: 'instances added: beta' })
    expect(result).toEqual({ method: 'reload' })
    await sleep(500)
    const samples = await traffic.stop()

    expect(failures(samples)).toEqual([])
    expect(samples.filter((s) => s.host === 'alpha.test' && s.body !== 'a2')).toEqual([])
    // Each kept-alive connection gets one last answer from the old worker (marked "Connection: close"); every
    // other answer after the reload comes from the new configuration.
    const beta = samples.filter((s) => s.host === 'beta.test')
    expect(beta.filter((s) => s.startedAt < reloadedAt && s.status === 404).length).toBeGreaterThan(0)
    const betaAfter = beta.filter((s) => s.startedAt > reloadedAt && !s.closing)
    expect(betaAfter.length).toBeGreaterThan(10)
    expect(betaAfter.filter((s) => s.status !== 200 || s.body !== 'b1')).toEqual([])
    const now = await haproxy.control.processes()
    expect(now.masterPid).toBe(before.masterPid)
    expect(now.workers).not.toEqual(before.workers)
  })

  it('keeps runtime changes across a later reload: the files were written first', async () => {
    const alpha = instance('alpha', ['alpha.test', 'www.alpha.test'], [backend('a2', 'draining'), backend('a3')])
    const { plan, result } = await applyState(state(alpha, ...applied.instances.filter((i) => i.instanceId !== 'alpha')))
    expect(plan.kind).toBe('runtime')
    expect(result).toEqual({ method: 'runtime' })
    expect(await get('www.alpha.test')).toMatchObject({ status: 200, body: 'a3' })

    await haproxy.control.reload()
    expect(await serverStates('be_alpha')).toEqual([
      { name: 'as_a2', weight: 0 },
      { name: 'as_a3', weight: 100 },
    ])
    for (const host of ['alpha.test', 'www.alpha.test', 'alpha.test', 'www.alpha.test'])
      expect(await get(host)).toMatchObject({ status: 200, body: 'a3' })
  })

  it('refuses an invalid render: the files and the running HAProxy stay as they were', async () => {
    const filesBefore = await filesOf(dir)
    const workersBefore = (await haproxy.control.processes()).workers
    const rendered = renderHaproxy(applied, options)
    const broken = { ...rendered, config: `${rendered.config}\nbackend be_broken\n  frobnicate now\n` }

    const err = await rejection(haproxy.control.writeAndValidate(broken))
    expect(err.provider).toBe('haproxy')
    expect(err.operation).toBe('validate')
    expect(err.message).toMatch(/frobnicate/)
    await rejection(haproxy.control.apply(broken, { kind: 'reload', reason: 'test' }))

    expect(await filesOf(dir)).toEqual(filesBefore)
    expect((await haproxy.control.processes()).workers).toEqual(workersBefore)
    expect(await get('www.alpha.test')).toMatchObject({ status: 200, body: 'a3' })
    await haproxy.control.validate(dir)
  })

  it('names the runtime command HAProxy refuses, and apply falls back to a reload', async () => {
    const err = await rejection(haproxy.control.runtime(['set server be_alpha/as_missing state drain']))
    expect(err.message).toContain('set server be_alpha/as_missing state drain')
    expect(err.message).toContain('No such server')

    const before = (await haproxy.control.processes()).workers
    const result = await haproxy.control.apply(renderHaproxy(applied, options), {
      kind: 'runtime',
      commands: ['del server be_alpha/as_missing'],
    })
    expect(result.method).toBe('reload')
    expect(result.runtimeError).toContain('del server be_alpha/as_missing')
    expect((await haproxy.control.processes()).workers).not.toEqual(before)
    expect(await get('alpha.test')).toMatchObject({ status: 200, body: 'a3' })
  })

  it('sends payloads after "<<"; a refused one is named by its command line only, never by its content', async () => {
    const secret = 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7'
    const err = await rejection(
      haproxy.control.runtime([
        {
          command: `set ssl cert ${dir}/certs/nothing.pem`,
          payload: `-----BEGIN PRIVATE KEY-----\n${secret}\n-----END PRIVATE KEY-----\n`,
        },
      ]),
    )
    expect(err.message).toContain(`runtime "set ssl cert ${dir}/certs/nothing.pem"`)
    expect(err.message).toMatch(/Can't/)
    expect(err.message).not.toContain(secret)
    // A payload with an empty line would end early and leave the rest to be read as commands: refused before sending.
    const split = await rejection(haproxy.control.runtime([{ command: `add ssl crt-list ${dir}/crt-list.txt`, payload: 'a\n\nshow info' }]))
    expect(split.message).toMatch(/empty line/)
    // A certificate payload comes from the rendered files only.
    const missing = await rejection(haproxy.control.runtime([{ command: `set ssl cert ${dir}/certs/c1.pem`, certificate: 'c1' }]))
    expect(missing.message).toMatch(/certificate c1 is not among the rendered files/)
  })

  it('an instance whose every appserver fails its health check gets the maintenance page, not a bare 503', async () => {
    const dead: RoutedBackend = { appserverId: 'dead', host: '127.0.0.1', port: await freePort(), role: 'active' }
    const current = applied
    await applyState({
      ...current,
      revision: current.revision + 1,
      instances: [...current.instances, instance('gamma', ['gamma.test'], [dead])],
    })
    const deadline = Date.now() + 10_000
    let answer = await get('gamma.test')
    while (!answer.body?.includes('This site is being updated') && Date.now() < deadline) {
      await sleep(200)
      answer = await get('gamma.test')
    }
    expect(answer.status).toBe(503)
    expect(answer.body).toContain('This site is being updated')
  })
})
