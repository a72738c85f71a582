/**
 * Provisioning benchmark: resources for a fleet (default 200 instances) through the product's own path —
 * placement at instance creation, the ensure jobs on pg-boss workers, the provisioners — against the real
 * MariaDB and RabbitMQ of this machine, s3rver, and the MongoDB wire double, 10 instances in flight at a time.
 * Then every instance is archived (final MySQL export) and its data destroyed now, and the clusters are listed
 * for anything left carrying the run's owner tag (must be none).
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import pino from 'pino'
import { systemActor } from '@/lib/auth/actor'
import { parseConfig } from '@/lib/config'
import { createDb } from '@/lib/db/client'
import { applyMigrations } from '@/lib/db/migrate'
import { createOrchestrator } from '@/lib/deployments/create-orchestrator'
import { archiveInstance } from '@/lib/instances/archive-instance'
import { createInstance } from '@/lib/instances/create-instance'
import { startQueue, startWorkers } from '@/lib/jobs/queue'
import { bossSender } from '@/lib/jobs/send'
import { exportInstance } from '@/lib/resources/export-instance'
import { requestPurge } from '@/lib/resources/purge-instance'
import { createResourceContext, type ResourceContext } from '@/lib/resources/resource-context'
import { newSecretKeySpec } from '@/lib/secrets/cipher'
import type { ResourceKind, ResourceProvisioner } from '@/provisioners/types'
import { startMongodbDouble } from '@/test/fakes/mongodb/server'
import { createMariadbAdmin } from '@/test/support/mariadb-admin'
import { TEST_PG_URL } from '@/test/support/postgres'
import { registerLocalClusters } from '@/test/support/clusters'
import { startS3rver } from '@/test/support/s3rver'
import { createScratchDatabase } from '@/test/support/scratch-database'
import { requireMariadb, requireRabbitmq } from '@/test/support/services'
import { BenchError, hardware, hardwareLine, loadAverage, onCleanup, percentile, runCleanups, table } from './support'

export const title = 'Provisioning: databases, vhosts and buckets for a fleet on the real MariaDB, RabbitMQ and s3rver'

const ROOT = path.resolve(import.meta.dirname, '..')
const RESULTS_FILE = path.join(ROOT, 'test-results', 'bench-provisioning.json')
const KINDS: ResourceKind[] = ['mysql', 'mongodb', 'rabbitmq', 's3']
const staff = systemActor('bench')

interface Figures {
  n: number
  p50: number
  p95: number
  max: number
}

function figures(samples: number[]): Figures {
  const sorted = [...samples].sort((a, b) => a - b)
  return { n: sorted.length, p50: percentile(sorted, 50), p95: percentile(sorted, 95), max: sorted[sorted.length - 1] ?? Number.NaN }
}

const ms = (n: number) => n.toFixed(0)
const sleep = (t: number) => new Promise((r) => setTimeout(r, t))

/** Runs `work(i)` for i in [0, count) with at most `concurrency` in flight. */
async function lanes(count: number, concurrency: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) await work(next++)
    }),
  )
}

/** Times each ensure+verify the provisioners run, by kind (the provider's own share of a resource's latency). */
function timedContext(base: ResourceContext, samples: Map<ResourceKind, number[]>): ResourceContext {
  const wrap = (p: ResourceProvisioner): ResourceProvisioner => ({
    ...p,
    ensureSteps: p.ensureSteps,
    kind: p.kind,
    async ensure(spec, options) {
      const started = performance.now()
      const out = await p.ensure(spec, options)
      samples.get(p.kind)?.push(performance.now() - started)
      return out
    },
    verify: (spec, credentials) => p.verify(spec, credentials),
    rotate: (spec, current) => p.rotate(spec, current),
    destroy: (names, log) => p.destroy(names, log),
    list: () => p.list(),
    testConnection: () => p.testConnection(),
    close: () => p.close(),
  })
  return { ...base, provisioner: (cluster) => wrap(base.provisioner(cluster)) }
}

export async function run(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: { instances: { type: 'string', default: '200' }, concurrency: { type: 'string', default: '10' } },
    strict: false,
    allowPositionals: true,
  })
  const count = Number(values.instances)
  const concurrency = Number(values.concurrency)
  await requireMariadb()
  await requireRabbitmq()

  const scratch = await createScratchDatabase(TEST_PG_URL, 'tenon_bench')
  onCleanup(() => scratch.drop())
  await applyMigrations(scratch.url)
  const exportDir = await mkdtemp(path.join(os.tmpdir(), 'tenon-bench-exports-'))
  onCleanup(() => rm(exportDir, { recursive: true, force: true }))
  const ownerTag = `b${Date.now().toString(36)}`
  const admin = await createMariadbAdmin(ownerTag)
  onCleanup(() => admin.drop())
  const s3 = await startS3rver()
  onCleanup(() => s3.stop())
  const mongoPassword = `bench-${Date.now()}`
  const mongo = await startMongodbDouble({ adminUser: 'root', adminPassword: mongoPassword })
  onCleanup(() => mongo.stop())

  const config = parseConfig({
    ...process.env,
    DATABASE_URL: scratch.url,
    OWNER_TAG: ownerTag,
    SECRETS_KEYS: newSecretKeySpec('bench'),
    // Ten instances in flight, four resources each: one job per resource at once.
    WORKER_CONCURRENCY: String(concurrency * KINDS.length),
    ARCHIVE_EXPORT_DIR: exportDir,
    LOG_LEVEL: 'silent',
  })
  const log = pino({ level: 'silent' })
  const db = createDb(scratch.url, { max: 12 })
  onCleanup(() => db.$disconnect())
  const boss = await startQueue(scratch.url, log)
  onCleanup(() => boss.stop({ graceful: false, wait: true }))
  const orchestrator = createOrchestrator({ db, config, log, jobs: bossSender(boss) })
  const ensureSamples = new Map<ResourceKind, number[]>(KINDS.map((k) => [k, []]))
  const base = createResourceContext(orchestrator)
  onCleanup(() => base.close())
  const resources = timedContext(base, ensureSamples)
  const workers = await startWorkers({ boss, db, config, log, orchestrator, resources })
  onCleanup(async () => workers.stop())

  await registerLocalClusters(resources, { admin, s3, mongo, mongoPassword })
  const organization = await db.organization.create({ data: { name: 'Bench', slug: `bench-${ownerTag}` } })

  console.log(`  ${count} instances, ${concurrency} at a time, ${KINDS.length} resources each (${KINDS.join(', ')})`)
  const perInstance: number[] = []
  const instances: { id: string; slug: string }[] = []
  let started = performance.now()
  await lanes(count, concurrency, async (i) => {
    const t0 = performance.now()
    const instance = await createInstance({
      db,
      actor: staff,
      hostingZone: config.hostingZone,
      resources: { box: orchestrator.box, ownerTag, jobs: orchestrator.jobs },
      input: {
        organizationId: organization.id,
        name: `Bench academy ${i}`,
        blueprint: 'openedx',
        settings: { contactEmail: 'ops@example.test' },
        extraSettings: '',
        appserverCount: 1,
      },
    })
    instances.push({ id: instance.id, slug: instance.slug })
    for (;;) {
      const rows = await db.resource.findMany({ where: { instanceId: instance.id }, select: { state: true, kind: true, lastError: true } })
      const failed = rows.find((r) => r.state === 'failed')
      if (failed) throw new BenchError(`${failed.kind} of ${instance.slug} failed: ${failed.lastError}`)
      if (rows.length === KINDS.length && rows.every((r) => r.state === 'ready')) break
      await sleep(25)
    }
    perInstance.push(performance.now() - t0)
  })
  const provisionWallMs = performance.now() - started
  const rows = await db.resource.findMany({ select: { kind: true, createdAt: true, readyAt: true, attempts: true } })
  const perKind = new Map(
    KINDS.map((k) => [k, rows.filter((r) => r.kind === k && r.readyAt).map((r) => r.readyAt!.getTime() - r.createdAt.getTime())]),
  )
  const retried = rows.filter((r) => r.attempts > 0).length

  // Tear-down through the product: archive (final export of the MySQL databases), then destroy now.
  const perDestroy: number[] = []
  started = performance.now()
  await lanes(instances.length, concurrency, async (i) => {
    const instance = instances[i]!
    const t0 = performance.now()
    await archiveInstance({ db, actor: staff, hostingZone: config.hostingZone, id: instance.id, confirm: instance.slug })
    if ((await exportInstance(resources, instance.id)) !== 'scheduled')
      throw new BenchError(`the export of ${instance.slug} did not complete`)
    await requestPurge(resources, staff, instance.id, instance.slug)
    for (;;) {
      const row = await db.instance.findUniqueOrThrow({ where: { id: instance.id }, select: { purgedAt: true } })
      if (row.purgedAt) break
      await sleep(25)
    }
    perDestroy.push(performance.now() - t0)
  })
  const destroyWallMs = performance.now() - started

  const leftovers: Record<string, string[]> = {}
  for (const cluster of await db.cluster.findMany()) {
    const found = await resources.provisioner(cluster).list()
    if (found.length) leftovers[cluster.name] = found.map((o) => `${o.type}:${o.name}`)
  }
  const leftoverCount = Object.values(leftovers).reduce((n, l) => n + l.length, 0)
  const exports = await db.instanceExport.count({ where: { state: 'succeeded' } })

  const hw = hardware()
  const kindRows = KINDS.map((k) => {
    const job = figures(perKind.get(k) ?? [])
    const provider = figures(ensureSamples.get(k) ?? [])
    return [k, String(job.n), ms(job.p50), ms(job.p95), ms(job.max), ms(provider.p50), ms(provider.p95)]
  })
  const inst = figures(perInstance)
  const destroy = figures(perDestroy)
  console.log(
    table(
      ['resource', 'n', 'p50 ms', 'p95 ms', 'max ms', 'ensure p50 ms', 'ensure p95 ms'],
      [...kindRows, ['whole instance', String(inst.n), ms(inst.p50), ms(inst.p95), ms(inst.max), '', '']],
    ),
  )
  console.log(`  (resource: placement → ready, through the queue; ensure: the provisioner's own ensure call)`)
  console.log(
    `  provisioned ${count} instances in ${(provisionWallMs / 1000).toFixed(1)} s; ${retried} resource(s) needed a retry; load average ${loadAverage()}`,
  )
  console.log(
    `  archive + final export + destroy: p50 ${ms(destroy.p50)} ms, p95 ${ms(destroy.p95)} ms per instance; ${(destroyWallMs / 1000).toFixed(1)} s in all; ${exports} exports`,
  )
  console.log(`  leftovers after destroying them all: ${leftoverCount}`)
  await mkdir(path.dirname(RESULTS_FILE), { recursive: true })
  await writeFile(
    RESULTS_FILE,
    JSON.stringify(
      {
        at: new Date().toISOString(),
        machine: hardwareLine(hw),
        instances: count,
        concurrency,
        perKind: Object.fromEntries(
          KINDS.map((k) => [k, { job: figures(perKind.get(k) ?? []), ensure: figures(ensureSamples.get(k) ?? []) }]),
        ),
        perInstance: inst,
        destroy,
        provisionWallMs,
        destroyWallMs,
        leftovers,
      },
      null,
      2,
    ),
  )
  await runCleanups()
  if (leftoverCount) throw new BenchError(`objects left on the clusters after destroying every instance: ${JSON.stringify(leftovers)}`)
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
