import type PgBoss from 'pg-boss'
import pino from 'pino'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import * as health from '@/app/api/health/route'
import * as metrics from '@/app/api/metrics/route'
import * as ready from '@/app/api/ready/route'
import * as me from '@/app/api/v1/me/route'
import { createDb, getDb, setDb } from '@/lib/db/client'
import { startQueue } from '@/lib/jobs/queue'
import { callRoute } from '../support/call-route'
import { freshDatabase, type FreshDatabase } from './helpers'

/**
 * Liveness, readiness and metrics. Readiness and metrics read the process-wide database, so these tests
 * point it at databases of their own (one with the queue started, one without) and put it back after.
 */
const shared = getDb()
let withQueue: FreshDatabase
let withoutQueue: FreshDatabase
let boss: PgBoss

beforeAll(async () => {
  ;[withQueue, withoutQueue] = await Promise.all([freshDatabase(), freshDatabase()])
  boss = await startQueue(withQueue.url, pino({ level: 'silent' }))
  const org = await withQueue.db.organization.create({ data: { name: 'Ops', slug: 'ops' } })
  await withQueue.db.instance.createMany({
    data: ['one', 'two', 'three'].map((slug, i) => ({
      organizationId: org.id,
      name: slug,
      slug,
      blueprint: 'openedx' as const,
      settings: {},
      status: i === 2 ? ('archived' as const) : ('new' as const),
    })),
  })
  await boss.send('maintenance.expire-credentials', {}, { startAfter: 3600 })
  const cluster = await withQueue.db.cluster.create({ data: { kind: 'mysql', name: 'mysql-ops', settings: {}, secrets: 'v1.x.y.z.w' } })
  const instance = await withQueue.db.instance.findFirstOrThrow({ where: { slug: 'one' } })
  await withQueue.db.resource.create({
    data: { instanceId: instance.id, kind: 'mysql', clusterId: cluster.id, state: 'failed', names: {}, password: 'v1.x.y.z.w' },
  })
})

afterEach(() => setDb(shared))

afterAll(async () => {
  setDb(shared)
  await boss?.stop({ graceful: false, wait: true, timeout: 5000 })
  await Promise.all([withQueue?.drop(), withoutQueue?.drop()])
})

describe('GET /api/health', () => {
  it('answers 200 without touching dependencies', async () => {
    setDb(createDb('postgresql://nobody@127.0.0.1:1/none'))
    const res = health.GET()
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ status: 'ok' })
    expect(res.headers.get('cache-control')).toBe('no-store')
  })
})

describe('GET /api/ready', () => {
  it('is 200 when the database answers and the queue schema exists', async () => {
    setDb(withQueue.db)
    const res = await ready.GET()
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ status: 'ready', checks: { database: 'ok', queue: 'ok' } })
  })

  it('is 503 when the queue schema is missing', async () => {
    setDb(withoutQueue.db)
    const res = await ready.GET()
    expect(res.status).toBe(503)
    expect(await res.json()).toEqual({ status: 'not ready', checks: { database: 'ok', queue: 'failing' } })
  })

  it('is 503 when the database does not answer', async () => {
    const unreachable = createDb('postgresql://nobody@127.0.0.1:1/none')
    setDb(unreachable)
    try {
      const res = await ready.GET()
      expect(res.status).toBe(503)
      expect(await res.json()).toEqual({ status: 'not ready', checks: { database: 'failing', queue: 'failing' } })
    } finally {
      await unreachable.$disconnect()
    }
  })
})

describe('GET /api/metrics', () => {
  it('exposes request latency, instances by status, resources by state and jobs by state', async () => {
    await callRoute(me.GET, {}) // one observed request (a 401)
    setDb(withQueue.db)
    const res = await metrics.GET(new Request('http://console.test/api/metrics'))
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/)
    const text = await res.text()
    expect(text).toContain('# TYPE tenon_http_request_duration_seconds histogram')
    expect(text).toMatch(/tenon_http_request_duration_seconds_count\{method="GET",route="\/api\/v1\/me",status="401"\} [1-9]/)
    expect(text).toContain('tenon_instances{status="new"} 2')
    expect(text).toContain('tenon_instances{status="archived"} 1')
    expect(text).toContain('# TYPE tenon_jobs gauge')
    expect(text).toMatch(/tenon_jobs\{queue="maintenance\.expire-credentials",state="created"\} [1-9]/)
    expect(text).toContain('tenon_resources{kind="mysql",state="failed",cluster="mysql-ops"} 1')
    expect(text).toContain('tenon_process_cpu_seconds_total')
  })

  it('still answers before the queue schema exists, with zero instances of each status', async () => {
    setDb(withoutQueue.db)
    const res = await metrics.GET(new Request('http://console.test/api/metrics'))
    expect(res.status).toBe(200)
    const text = await res.text()
    expect(text).toContain('tenon_instances{status="new"} 0')
    expect(text).toContain('tenon_instances{status="archived"} 0')
    expect(text).not.toMatch(/^tenon_jobs\{/m)
  })
})
