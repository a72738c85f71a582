import { randomUUID } from 'node:crypto'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { reconcileAppservers } from '@/lib/appservers/reconcile-appservers'
import { systemActor } from '@/lib/auth/actor'
import type { Config } from '@/lib/config'
import { createDeployment } from '@/lib/deployments/create-deployment'
import { createOrchestrator } from '@/lib/deployments/create-orchestrator'
import type { Orchestrator } from '@/lib/deployments/orchestrator'
import { JOBS } from '@/lib/jobs/definitions'
import { startWorkers } from '@/lib/jobs/queue'
import { QUEUES } from '@/lib/jobs/queues'
import { bossSender } from '@/lib/jobs/send'
import { findTaggedProcesses } from '@/provisioners/vm/local/process-table'
import type { VmSpec } from '@/provisioners/types'
import { startDeployer, type Deployer } from '../support/deployer'
import { sleep, waitFor } from './helpers'

/**
 * The reconciler (lib/appservers/reconcile-appservers.ts), called directly pass by pass against real local
 * appserver processes: orphan VMs, vanished VMs and stalled appservers. Job handlers run in this process,
 * without the reconciler's own timer, so every pass in these tests is one the test asked for.
 */

const staff = systemActor('tests')
const log = pino({ level: 'silent' })
let env: Deployer
let workersStarted = false

beforeAll(async () => {
  // No workers yet: the stalled-appserver test needs a deployment whose first job nobody runs.
  env = await startDeployer({ ORPHAN_GRACE_SECONDS: '0' }, { worker: false })
})
afterAll(async () => {
  await env?.stop()
})

async function ensureWorkers() {
  if (workersStarted) return
  workersStarted = true
  await startWorkers({
    boss: env.boss,
    db: env.db,
    config: env.config,
    log,
    orchestrator: env.orchestrator,
    jobs: JOBS.filter((j) => j.name !== QUEUES.reconcileAppservers.name),
  })
}

/** The same environment seen through another config or clock. */
function orchestratorWith(opts: { config?: Config; now?: () => Date }): Orchestrator {
  return createOrchestrator({ db: env.db, config: opts.config ?? env.config, log, jobs: bossSender(env.boss), now: opts.now })
}

/** A UUIDv7 whose embedded time is `ms` (the reconciler reads a VM's age from its appserver id). */
function uuidv7At(ms: number): string {
  const hex = ms.toString(16).padStart(12, '0') + '7' + randomUUID().replace(/-/g, '').slice(13)
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

function orphanSpec(appserverId: string): VmSpec {
  return {
    appserverId,
    instanceSlug: 'orphan',
    healthPath: '/heartbeat',
    configuration: { PLATFORM_NAME: 'Orphan', LMS_HOST: 'orphan.hosting.test', OPENEDX_RELEASE: 'test', SECRET_KEY: 'k'.repeat(40) },
  }
}

const listedIds = async () => (await env.orchestrator.driver('local').list()).map((v) => v.appserverId)

async function deployActive(instanceId: string) {
  const d = await createDeployment(env.orchestrator, { actor: staff, instanceId })
  return waitFor(
    'deployment active',
    async () => {
      const row = await env.db.deployment.findUniqueOrThrow({ where: { id: d.id }, include: { appservers: true } })
      if (row.status === 'failed') throw new Error(`deployment failed: ${row.error}`)
      return row.status === 'active' ? row : null
    },
    20_000,
  )
}

describe('the appserver reconciler', () => {
  it('destroys VMs that carry our tag but have no record, once older than the grace period', async () => {
    const driver = env.orchestrator.driver('local')
    const notV7 = randomUUID()
    const oldV7 = uuidv7At(Date.now() - 2 * 3600_000)
    const youngV7 = uuidv7At(Date.now())
    for (const id of [notV7, oldV7, youngV7]) await driver.create(orphanSpec(id), () => {})
    expect((await listedIds()).sort()).toEqual([notV7, oldV7, youngV7].sort())

    // A one-hour grace: the young one (created a moment ago, perhaps just before its record commits) stays;
    // an id without a time (not a v7) cannot prove its youth and goes.
    const patient = orchestratorWith({ config: { ...env.config, appservers: { ...env.config.appservers, orphanGraceMs: 3600_000 } } })
    const first = await reconcileAppservers(patient)
    expect(first.errors).toEqual([])
    expect(first.orphansDestroyed.sort()).toEqual([notV7, oldV7].sort())
    expect(await listedIds()).toEqual([youngV7])
    expect((await findTaggedProcesses(env.config.ownerTag)).map((p) => p.appserverId)).toEqual([youngV7])

    // ORPHAN_GRACE_SECONDS=0: it goes too, process and state folder.
    const second = await reconcileAppservers(env.orchestrator)
    expect(second.orphansDestroyed).toEqual([youngV7])
    expect(await listedIds()).toEqual([])
    expect(await findTaggedProcesses(env.config.ownerTag)).toEqual([])
  }, 30_000)

  it('resumes an appserver whose next step was lost (its job taken by a worker that died)', async () => {
    const instance = await env.createInstance()
    const d = await createDeployment(env.orchestrator, { actor: staff, instanceId: instance.id })
    const appserver = await env.db.appserver.findFirstOrThrow({ where: { deploymentId: d.id } })
    // A worker takes the first step's job and dies with it: pg-boss would give it to another worker only
    // when it expires (minutes later).
    const taken = await env.boss.fetch<{ appserverId: string }>(QUEUES.advanceAppserver.name, { batchSize: 10 })
    expect(taken.map((j) => j.data.appserverId)).toEqual([appserver.id])
    await env.db.appserver.update({ where: { id: appserver.id }, data: { nextCheckAt: new Date(Date.now() - 60_000) } })

    await ensureWorkers()
    await sleep(1500)
    expect((await env.db.appserver.findUniqueOrThrow({ where: { id: appserver.id } })).state).toBe('new')

    const report = await reconcileAppservers(env.orchestrator)
    expect(report).toMatchObject({ resumed: 1, orphansDestroyed: [], vanished: [], errors: [] })
    await waitFor(
      'the resumed deployment active',
      async () => (await env.db.deployment.findUniqueOrThrow({ where: { id: d.id } })).status === 'active',
      20_000,
    )
    const route = await env.db.instanceRoute.findUniqueOrThrow({ where: { instanceId: instance.id } })
    expect((await fetch(`${route.url}/heartbeat`)).status).toBe(200)
  }, 40_000)

  it('fails an active appserver whose VM died, after two passes, and removes its remains', async () => {
    await ensureWorkers()
    const instance = await env.createInstance()
    const d = await deployActive(instance.id)
    const a = d.appservers[0]!
    const [proc] = await findTaggedProcesses(env.config.ownerTag, a.id)
    expect(proc).toBeDefined()
    process.kill(proc!.pid, 'SIGKILL')
    await waitFor('the process gone', async () => (await findTaggedProcesses(env.config.ownerTag, a.id)).length === 0)

    // First pass: noted, not failed (a driver's list can lag behind reality).
    const first = await reconcileAppservers(env.orchestrator)
    expect(first).toMatchObject({ vanished: [], orphansDestroyed: [], errors: [] })
    const noted = await env.db.appserver.findUniqueOrThrow({ where: { id: a.id } })
    expect(noted.state).toBe('active')
    expect(noted.vanishedAt).not.toBeNull()

    // A second pass, after the grace period (two check intervals, at least 1 s): failed. The clock is moved rather than waited for.
    const later = orchestratorWith({ now: () => new Date(Date.now() + 10_000) })
    const second = await reconcileAppservers(later)
    expect(second).toMatchObject({ vanished: [a.id], orphansDestroyed: [], errors: [] })
    const failed = await env.db.appserver.findUniqueOrThrow({ where: { id: a.id } })
    expect(failed).toMatchObject({ state: 'failed', failedPhase: 'active', error: 'the VM vanished' })

    // Its remains (the state folder, which holds its secrets) are removed by its own steps.
    await waitFor('the failed appserver terminated', async () => {
      const row = await env.db.appserver.findUniqueOrThrow({ where: { id: a.id } })
      return row.state === 'terminated'
    })
    expect(await listedIds()).not.toContain(a.id)
    const transitions = await env.db.appserverLogLine.findMany({ where: { appserverId: a.id, kind: 'transition' }, orderBy: { id: 'asc' } })
    expect(transitions.map((l) => l.toState).slice(-4)).toEqual(['active', 'failed', 'terminating', 'terminated'])

    // The deployment routes around it: with no active appserver left, the instance is in maintenance (no URL)
    // until staff redeploy. It stays the active deployment: a redeploy or rollback replaces it as usual.
    const after = await env.db.deployment.findUniqueOrThrow({ where: { id: d.id } })
    expect(after.status).toBe('active')
    await waitFor('routing published again', async () => {
      const route = await env.db.instanceRoute.findUniqueOrThrow({ where: { instanceId: instance.id } })
      return route.url === null && (route.routing as { maintenance: boolean }).maintenance
    })
  }, 40_000)

  it('leaves a healthy fleet alone', async () => {
    const before = await env.db.appserver.findMany({ where: { state: 'active' }, select: { id: true, stateChangedAt: true } })
    expect(before.length).toBeGreaterThan(0)
    const later = orchestratorWith({ now: () => new Date(Date.now() + 10_000) })
    for (const o of [env.orchestrator, later]) {
      const report = await reconcileAppservers(o)
      expect(report).toMatchObject({ orphansDestroyed: [], vanished: [], errors: [] })
    }
    const after = await env.db.appserver.findMany({ where: { state: 'active' }, select: { id: true, stateChangedAt: true } })
    expect(after).toEqual(before)
    expect((await listedIds()).sort()).toEqual(before.map((a) => a.id).sort())
  })
})
