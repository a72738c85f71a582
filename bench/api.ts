/**
 * API benchmark: the real product (scripts/start.ts, production build) over HTTP with keep-alive, on a
 * fleet of 10,000 instances in 100 organizations seeded straight into its database. Measures the
 * instance list (filters, search, deep keyset pages; page of 50) and instance detail, as staff and as a
 * client, and checks every answer against the seeded data so an error can never pass for a fast answer.
 */
import { randomBytes } from 'node:crypto'
import http from 'node:http'
import { mkdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { gunzipSync } from 'node:zlib'
import pg from 'pg'
import type { z } from 'zod'
import { createUserInTx } from '@/lib/accounts/create-user'
import { systemActor } from '@/lib/auth/actor'
import { OPENEDX_RELEASES, ZOpenedxSettings } from '@/lib/blueprints/openedx'
import { createDb, type Db } from '@/lib/db/client'
import type { Prisma } from '@/lib/db/generated/client'
import type { InstanceStatus } from '@/lib/db/generated/enums'
import { ZInstance, ZInstancePage } from '@/lib/instances/schemas'
import { firstFreeSlug, slugify } from '@/lib/instances/slug'
import { createApiToken } from '@/lib/tokens/api-tokens'
import { startTestServer } from '@/test/support/server'
import {
  BenchError,
  elapsedSince,
  hardware,
  hardwareLine,
  listeningPid,
  loadAverage,
  processCpuMs,
  onCleanup,
  runCleanups,
  seededRandom,
  summarize,
  table,
  type Hardware,
  type LatencySummary,
} from './support'
import { ORG_KINDS, ORG_PLACES, PURPOSES, QUALIFIERS } from './fleet-names'

export const title = 'API: instance list and detail'

const ROOT = path.resolve(import.meta.dirname, '..')
const RESULTS_FILE = path.join(ROOT, 'test-results', 'bench-api.json')

const ORGANIZATIONS = 100
const INSTANCES_PER_ORGANIZATION = 100
const PAGE = 50
const WARM_UP = 30
const REQUESTS = 300
const CONCURRENCY = 4
/** The fleet's history: instances were created over the last three years. */
const HISTORY_MS = 3 * 365 * 24 * 3600 * 1000
const GOAL_P95_MS = 50

// ---------------------------------------------------------------------------------------------
// The fleet

interface SeedInstance {
  id: string
  organizationId: string
  name: string
  slug: string
  status: InstanceStatus
  createdAt: number
}

interface Fleet {
  organizations: { id: string; slug: string; name: string }[]
  /** every instance, newest first (created_at desc, id desc), the order the API pages in */
  instances: SeedInstance[]
}

/** A version 7 UUID for a given time, as the product's own rows get (uuid(7) in the schema). */
function uuidv7(ms: number): string {
  const b = randomBytes(16)
  b.writeUIntBE(ms, 0, 6)
  b[6] = (b[6]! & 0x0f) | 0x70
  b[8] = (b[8]! & 0x3f) | 0x80
  const h = b.toString('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}

function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[items[i], items[j]] = [items[j]!, items[i]!]
  }
  return items
}

const newestFirst = (a: { createdAt: number; id: string }, b: { createdAt: number; id: string }) =>
  b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0)

/** Writes the fleet with createMany (the API would take minutes for 10,000 creates). */
export async function seedFleet(db: Db, now: number): Promise<Fleet> {
  const random = seededRandom(20261126)
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!
  const names = shuffle(
    ORG_PLACES.flatMap((place) => ORG_KINDS.map((kind) => `${place} ${kind}`)),
    random,
  ).slice(0, ORGANIZATIONS)

  const organizations = names.map((name) => {
    const createdAt = now - HISTORY_MS - Math.floor(random() * 90 * 24 * 3600 * 1000)
    return { id: uuidv7(createdAt), slug: slugify(name), name, createdAt }
  })
  await db.organization.createMany({
    data: organizations.map((o) => ({
      id: o.id,
      slug: o.slug,
      name: o.name,
      createdAt: new Date(o.createdAt),
      updatedAt: new Date(o.createdAt),
    })),
  })

  const combos = PURPOSES.flatMap((purpose) => QUALIFIERS.map((qualifier) => `${purpose}${qualifier}`))
  const taken = new Set<string>()
  const instances: SeedInstance[] = []
  const rows: Prisma.InstanceCreateManyInput[] = []
  for (const org of organizations) {
    for (const combo of shuffle([...combos], random).slice(0, INSTANCES_PER_ORGANIZATION)) {
      const name = `${org.name} ${combo}`
      const slug = firstFreeSlug(slugify(name), taken)
      taken.add(slug)
      const createdAt = now - Math.floor(random() * HISTORY_MS)
      const archived = random() < 0.12
      const archivedAt = archived ? createdAt + Math.floor(random() * (now - createdAt)) : null
      const id = uuidv7(createdAt)
      const settings = ZOpenedxSettings.parse({
        release: pick(OPENEDX_RELEASES),
        platformName: name,
        contactEmail: `support@${org.slug}.example.org`,
        features: {
          allowPublicAccountCreation: random() < 0.7,
          enableCertificates: random() < 0.8,
          enableDiscussions: random() < 0.6,
          enableCourseDiscovery: random() < 0.4,
          enableThirdPartyAuth: random() < 0.3,
        },
      })
      const extraSettings =
        random() < 0.3
          ? `EDXAPP_FEATURES:\n  ENABLE_COURSEWARE_SEARCH: true\nEDXAPP_TIME_ZONE: Europe/Paris\nEDXAPP_PLATFORM_NAME: "${name}"\n`
          : ''
      const status: InstanceStatus = archived ? 'archived' : 'new'
      rows.push({
        id,
        organizationId: org.id,
        name,
        slug,
        blueprint: 'openedx',
        settings: settings as Prisma.InputJsonValue,
        extraSettings,
        status,
        version: 1 + Math.floor(random() * 6),
        createdAt: new Date(createdAt),
        updatedAt: new Date(archivedAt ?? createdAt + Math.floor(random() * (now - createdAt))),
        archivedAt: archivedAt === null ? null : new Date(archivedAt),
      })
      instances.push({ id, organizationId: org.id, name, slug, status, createdAt })
    }
  }
  for (let i = 0; i < rows.length; i += 1000) await db.instance.createMany({ data: rows.slice(i, i + 1000) })
  instances.sort(newestFirst)
  return { organizations, instances }
}

/** A staff user and a client (member of one organization), each with an API token, made as the product makes them. */
export async function seedUsers(db: Db, clientOrganizationId: string): Promise<{ staffToken: string; clientToken: string }> {
  const actor = systemActor('bench')
  const make = async (email: string, isStaff: boolean) => {
    const user = await db.$transaction((tx) =>
      createUserInTx(tx, {
        actor,
        user: { email, name: email.split('@')[0]!, password: 'bench-password-123' },
        isStaff,
        membership: isStaff ? undefined : { organizationId: clientOrganizationId, role: 'member' },
      }),
    )
    return (await createApiToken({ db, actor, userId: user.id, name: 'bench' })).token
  }
  return { staffToken: await make('staff@bench.example', true), clientToken: await make('client@bench.example', false) }
}

// ---------------------------------------------------------------------------------------------
// What each request should answer, computed from the seeded fleet

interface ListFilter {
  organizationIds?: readonly string[]
  status?: InstanceStatus
  q?: string
  /** index in the newest-first order of the first row after the cursor */
  from?: number
}

function expectedIds(fleet: Fleet, f: ListFilter): string[] {
  const q = f.q?.toLowerCase()
  const ids: string[] = []
  for (let i = f.from ?? 0; i < fleet.instances.length && ids.length < PAGE; i++) {
    const r = fleet.instances[i]!
    if (f.organizationIds && !f.organizationIds.includes(r.organizationId)) continue
    if (f.status && r.status !== f.status) continue
    if (q && !r.name.toLowerCase().includes(q) && !r.slug.includes(q)) continue
    ids.push(r.id)
  }
  return ids
}

// ---------------------------------------------------------------------------------------------
// Requests

interface Probe {
  path: string
  token: string
  /** a description of what is wrong with the parsed body, or null */
  check(body: unknown): string | null
}

interface Scenario {
  name: string
  concurrency: number
  probe(i: number): Probe
}

export interface ScenarioResult extends LatencySummary {
  scenario: string
  concurrency: number
  /** CPU time per timed request (ms) of the server process, of its PostgreSQL backends, and of this load generator; null where /proc is unreadable */
  cpuMsPerRequest: { server: number | null; postgres: number | null; bench: number }
}

/** Cumulative CPU time (ms) of the server process and of each PostgreSQL backend serving its database. */
interface CpuSample {
  server: number | null
  postgres: Map<number, number> | null
  bench: number
}

async function sampleCpu(admin: pg.Client, serverPid: number | null): Promise<CpuSample> {
  const { rows } = await admin.query<{ pid: number }>(
    'SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
  )
  let postgres: Map<number, number> | null = new Map()
  for (const { pid } of rows) {
    const ms = processCpuMs(pid)
    if (ms === null) {
      postgres = null
      break
    }
    postgres.set(pid, ms)
  }
  const { user, system } = process.cpuUsage()
  return { server: serverPid === null ? null : processCpuMs(serverPid), postgres, bench: (user + system) / 1000 }
}

function cpuPerRequest(before: CpuSample, after: CpuSample, requests: number): ScenarioResult['cpuMsPerRequest'] {
  const per = (ms: number) => Math.round((ms / requests) * 100) / 100
  let postgres: number | null = null
  if (before.postgres && after.postgres) {
    let sum = 0
    for (const [pid, ms] of after.postgres) sum += ms - (before.postgres.get(pid) ?? 0)
    postgres = per(sum)
  }
  return {
    server: before.server !== null && after.server !== null ? per(after.server - before.server) : null,
    postgres,
    bench: per(after.bench - before.bench),
  }
}

/**
 * A list request and its expected page. The first answer is checked against the InstancePage schema in
 * full; later answers to the same request only by their ids, to keep the load generator's own CPU use
 * (it shares the machine with the server) small.
 */
function pageProbe(baseToken: string, pathAndQuery: string, expected: readonly string[]): Probe {
  let validated = false
  return {
    path: pathAndQuery,
    token: baseToken,
    check: (body) => {
      if (!validated) {
        const page = ZInstancePage.safeParse(body)
        if (!page.success) return `the body is not an InstancePage: ${page.error.message.slice(0, 300)}`
        validated = true
      }
      const items = (body as Partial<z.infer<typeof ZInstancePage>>).items
      if (!Array.isArray(items)) return 'the body has no items'
      const got = items.map((i) => i.id)
      if (got.length !== expected.length) return `expected ${expected.length} items, got ${got.length}`
      const wrong = got.findIndex((id, n) => id !== expected[n])
      if (wrong >= 0) return `item ${wrong} is ${got[wrong]}, expected ${expected[wrong]}`
      return null
    },
  }
}

function detailProbe(token: string, instance: SeedInstance): Probe {
  return {
    path: `/api/v1/instances/${instance.id}`,
    token,
    check: (body) => {
      const parsed = ZInstance.safeParse(body)
      if (!parsed.success) return `the body is not an Instance: ${parsed.error.message.slice(0, 300)}`
      if (parsed.data.id !== instance.id || parsed.data.organization.id !== instance.organizationId) return `got instance ${parsed.data.id}`
      return null
    },
  }
}

/**
 * The load generator shares the CPUs with the server, so it uses node:http with a keep-alive agent, which
 * costs far less CPU per request than fetch. It asks for gzip, as browsers do (Next.js compresses).
 */
const agent = new http.Agent({ keepAlive: true, maxSockets: 16 })

function get(url: string, token: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      url,
      { agent, headers: { authorization: `Bearer ${token}`, accept: 'application/json', 'accept-encoding': 'gzip' } },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('error', reject)
        res.on('end', () => {
          try {
            const raw = Buffer.concat(chunks)
            const text = (res.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString('utf8')
            resolve({ status: res.statusCode ?? 0, text })
          } catch (err) {
            reject(err as Error)
          }
        })
      },
    )
    req.setTimeout(30_000, () => req.destroy(new Error('no answer in 30 s')))
    req.on('error', reject)
  })
}

async function send(baseUrl: string, probe: Probe, what: string): Promise<{ ms: number; body: unknown }> {
  const started = performance.now()
  let status: number
  let text: string
  try {
    ;({ status, text } = await get(baseUrl + probe.path, probe.token))
  } catch (err) {
    throw new BenchError(`${what}: GET ${probe.path} failed: ${(err as Error).message}`)
  }
  const ms = performance.now() - started
  if (status !== 200) throw new BenchError(`${what}: GET ${probe.path} answered ${status}, not 200: ${text.slice(0, 500)}`)
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    throw new BenchError(`${what}: GET ${probe.path} answered something that is not JSON: ${text.slice(0, 200)}`)
  }
  const problem = probe.check(body)
  if (problem) throw new BenchError(`${what}: GET ${probe.path} answered a wrong page: ${problem}`)
  return { ms, body }
}

async function measure(baseUrl: string, s: Scenario, cpu: () => Promise<CpuSample>): Promise<ScenarioResult> {
  for (let i = 0; i < WARM_UP; i++) await send(baseUrl, s.probe(REQUESTS + i), `${s.name} (warm-up)`)
  const samples: number[] = []
  let next = 0
  const cpuBefore = await cpu()
  const started = performance.now()
  const worker = async () => {
    while (next < REQUESTS) {
      const i = next++
      samples.push((await send(baseUrl, s.probe(i), s.name)).ms)
    }
  }
  await Promise.all(Array.from({ length: s.concurrency }, worker))
  const wallMs = performance.now() - started
  const cpuMsPerRequest = cpuPerRequest(cpuBefore, await cpu(), samples.length)
  return { scenario: s.name, concurrency: s.concurrency, ...summarize(samples, wallMs), cpuMsPerRequest }
}

/** Walks the whole-fleet list from the first page, checking each page, and returns the cursor that starts each page. */
async function walkPages(baseUrl: string, token: string, fleet: Fleet, pages: number): Promise<string[]> {
  const cursors: string[] = []
  let cursor: string | null = null
  for (let p = 0; p < pages; p++) {
    const expected = fleet.instances.slice(p * PAGE, (p + 1) * PAGE).map((r) => r.id)
    const query: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''
    const { body } = await send(baseUrl, pageProbe(token, `/api/v1/instances?limit=${PAGE}${query}`, expected), `walking page ${p + 1}`)
    cursors.push(cursor ?? '')
    cursor = ZInstancePage.parse(body).nextCursor
    if (!cursor) throw new BenchError(`walking page ${p + 1}: no nextCursor, yet ${fleet.instances.length} instances were seeded`)
  }
  return cursors
}

// ---------------------------------------------------------------------------------------------

export interface ApiBenchResult {
  when: string
  hardware: Hardware
  postgres: string
  fleet: { organizations: number; instances: number; archived: number }
  /** 1-minute load average before the first and after the last timed request (2 means two busy cores) */
  loadAverage: { before: number; after: number }
  startMs: number
  seedMs: number
  warmUp: number
  scenarios: ScenarioResult[]
}

export async function run(): Promise<ApiBenchResult> {
  const hw = hardware()
  console.log('starting the product (scripts/start.ts; builds .next first if the sources changed)…')
  let started = performance.now()
  // LOG_LEVEL stays "info": startTestServer waits for the info-level "console ready at" line.
  const server = await startTestServer({ env: { RUN_WORKER: 'false', LOG_LEVEL: 'info' } })
  onCleanup(() => server.stop())
  onCleanup(async () => agent.destroy())
  const startMs = elapsedSince(started)
  console.log(`  ready at ${server.baseUrl} in ${(startMs / 1000).toFixed(1)} s`)

  console.log(`seeding ${ORGANIZATIONS} organizations and ${ORGANIZATIONS * INSTANCES_PER_ORGANIZATION} instances…`)
  started = performance.now()
  const db = createDb(server.databaseUrl, { max: 4 })
  onCleanup(() => db.$disconnect())
  const fleet = await seedFleet(db, Date.now())
  const clientOrg = fleet.organizations[42]!
  const { staffToken, clientToken } = await seedUsers(db, clientOrg.id)
  const admin = new pg.Client({ connectionString: server.databaseUrl })
  await admin.connect()
  onCleanup(() => admin.end())
  await admin.query('VACUUM ANALYZE')
  const postgres = (await admin.query<{ server_version: string }>('SHOW server_version')).rows[0]?.server_version ?? 'unknown'
  const seedMs = elapsedSince(started)
  console.log(`  seeded in ${(seedMs / 1000).toFixed(1)} s (createMany, then VACUUM ANALYZE)`)

  await db.$disconnect()
  const base = server.baseUrl
  const serverPid = listeningPid(Number(new URL(base).port))
  const cpu = () => sampleCpu(admin, serverPid)
  const random = seededRandom(7)
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!
  const clientInstances = fleet.instances.filter((r) => r.organizationId === clientOrg.id)
  const otherInstance = fleet.instances.find((r) => r.organizationId !== clientOrg.id)!

  // Tenancy holds before anything is timed: another organization's instance is "not found" for the client.
  const res = await get(`${base}/api/v1/instances/${otherInstance.id}`, clientToken)
  if (res.status !== 404) throw new BenchError(`a client read another organization's instance: ${res.status}, expected 404`)

  console.log('walking 120 pages of the staff list (checks keyset pagination, warms the server)…')
  const cursors = await walkPages(base, staffToken, fleet, 120)

  const orgIds = fleet.organizations.map((o) => o.id)
  const commonWords = ['academy', 'training', '2025', 'sandbox', 'university', 'eu', 'learning']
  const oneInstance = Array.from({ length: 50 }, () => pick(fleet.instances))
  const clientWords = ['training', '2024', 'staging', 'courses', 'demo', 'education']
  const deepPages = Array.from({ length: 40 }, (_, k) => 80 + k)
  const cache = new Map<string, Probe>()
  const cached = (key: string, make: () => Probe) => {
    let p = cache.get(key)
    if (!p) cache.set(key, (p = make()))
    return p
  }
  const list = (token: string, who: string, params: Record<string, string>, filter: ListFilter) => {
    const qs = new URLSearchParams({ limit: String(PAGE), ...params }).toString()
    return cached(`${who} ${qs}`, () => pageProbe(token, `/api/v1/instances?${qs}`, expectedIds(fleet, filter)))
  }
  const staffFiltered = (i: number) => {
    const org = orgIds[i % orgIds.length]!
    return list(
      staffToken,
      'staff',
      { status: 'new', blueprint: 'openedx', organizationId: org },
      { organizationIds: [org], status: 'new' },
    )
  }
  const staffDetail = () => detailProbe(staffToken, pick(fleet.instances))
  const me: Probe = {
    path: '/api/v1/me',
    token: staffToken,
    check: (body) =>
      typeof body === 'object' && body !== null && 'isStaff' in body && body.isStaff === true ? null : 'not the staff user',
  }

  const health: Probe = {
    path: '/api/health',
    token: staffToken,
    check: (body) => (typeof body === 'object' && body !== null && 'status' in body && body.status === 'ok' ? null : 'not ok'),
  }

  const scenarios: Scenario[] = [
    { name: 'GET /api/health (no auth, no database: the floor)', concurrency: 1, probe: () => health },
    { name: 'staff  GET /api/v1/me (auth only, for reference)', concurrency: 1, probe: () => me },
    { name: 'staff  list, first page', concurrency: 1, probe: () => list(staffToken, 'staff', {}, {}) },
    { name: 'staff  list, status+blueprint+organizationId', concurrency: 1, probe: staffFiltered },
    {
      name: 'staff  list, q=<common word> (many matches)',
      concurrency: 1,
      probe: (i) => {
        const q = commonWords[i % commonWords.length]!
        return list(staffToken, 'staff', { q }, { q })
      },
    },
    {
      name: "staff  list, q=<one instance's slug> (1-3 matches)",
      concurrency: 1,
      probe: (i) => {
        const q = oneInstance[i % oneInstance.length]!.slug
        return list(staffToken, 'staff', { q }, { q })
      },
    },
    {
      name: 'staff  list, deep page (rows 4,000-6,000)',
      concurrency: 1,
      probe: (i) => {
        const page = deepPages[i % deepPages.length]!
        return list(staffToken, 'staff', { cursor: cursors[page]! }, { from: page * PAGE })
      },
    },
    {
      name: 'client list, first page (own org, 100)',
      concurrency: 1,
      probe: () => list(clientToken, 'client', {}, { organizationIds: [clientOrg.id] }),
    },
    {
      name: 'client list, q=<word>',
      concurrency: 1,
      probe: (i) => {
        const q = clientWords[i % clientWords.length]!
        return list(clientToken, 'client', { q }, { organizationIds: [clientOrg.id], q })
      },
    },
    { name: 'staff  detail, random instance', concurrency: 1, probe: staffDetail },
    { name: 'client detail, own org instance', concurrency: 1, probe: () => detailProbe(clientToken, pick(clientInstances)) },
    { name: 'staff  list, status+blueprint+organizationId', concurrency: CONCURRENCY, probe: staffFiltered },
    { name: 'staff  detail, random instance', concurrency: CONCURRENCY, probe: staffDetail },
  ]

  const loadBefore = loadAverage()
  const results: ScenarioResult[] = []
  for (const s of scenarios) {
    process.stdout.write(`  ${s.name} ×${s.concurrency}…`)
    const r = await measure(base, s, cpu)
    results.push(r)
    process.stdout.write(` p95 ${r.p95.toFixed(1)} ms\n`)
  }

  const result: ApiBenchResult = {
    when: new Date().toISOString(),
    hardware: hw,
    postgres,
    fleet: {
      organizations: fleet.organizations.length,
      instances: fleet.instances.length,
      archived: fleet.instances.filter((r) => r.status === 'archived').length,
    },
    loadAverage: { before: loadBefore, after: loadAverage() },
    startMs,
    seedMs,
    warmUp: WARM_UP,
    scenarios: results,
  }
  await runCleanups()
  print(result)
  await mkdir(path.dirname(RESULTS_FILE), { recursive: true })
  await writeFile(RESULTS_FILE, JSON.stringify(result, null, 2) + '\n')
  console.log(`\nfigures written to ${path.relative(process.cwd(), RESULTS_FILE)}`)
  return result
}

function print(r: ApiBenchResult): void {
  console.log(`\n${title}`)
  console.log(`machine:  ${hardwareLine(r.hardware)}; PostgreSQL ${r.postgres} on the same machine`)
  console.log(
    `fleet:    ${r.fleet.organizations} organizations, ${r.fleet.instances} instances (${r.fleet.archived} archived); ` +
      `seeded in ${(r.seedMs / 1000).toFixed(1)} s; server started in ${(r.startMs / 1000).toFixed(1)} s`,
  )
  console.log(`load:     1-minute load average ${r.loadAverage.before} before, ${r.loadAverage.after} after the timed requests`)
  console.log('cpu:      CPU time per timed request of the server process (node) and of its PostgreSQL backends (pg)')
  console.log(`method:   HTTP keep-alive from this process, ${r.warmUp} warm-up requests then ${REQUESTS} timed per row; page of ${PAGE}\n`)
  console.log(
    table(
      ['scenario', 'conc', 'requests', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'req/s', 'CPU ms/req: node', 'pg'],
      r.scenarios.map((s) => [
        s.scenario,
        String(s.concurrency),
        String(s.requests),
        ...[s.p50, s.p95, s.p99, s.max, s.throughput].map((n) => n.toFixed(1)),
        s.cpuMsPerRequest.server?.toFixed(1) ?? '-',
        s.cpuMsPerRequest.postgres?.toFixed(1) ?? '-',
      ]),
    ),
  )
  const over = r.scenarios.filter((s) => s.p95 >= GOAL_P95_MS)
  console.log(
    `\ngoal: p95 under ${GOAL_P95_MS} ms on 2 cores — ` +
      (over.length ? `over in: ${over.map((s) => `${s.scenario.replace(/\s+/g, ' ')} ×${s.concurrency}`).join('; ')}` : 'met by every row'),
  )
}

// Runs on its own too: `tsx bench/api.ts`
if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  console.log(hardwareLine(hardware()))
  run()
    .then(() => process.exit(0))
    .catch(async (err: unknown) => {
      await runCleanups()
      console.error(err instanceof BenchError ? `\nbenchmark aborted: ${err.message}` : err)
      process.exit(1)
    })
}
