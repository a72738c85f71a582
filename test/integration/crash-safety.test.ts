import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { CRASH_POINTS, type CrashPoint } from '@/lib/appservers/crash-point'
import { systemActor } from '@/lib/auth/actor'
import { createDeployment } from '@/lib/deployments/create-deployment'
import { findTaggedProcesses } from '@/provisioners/vm/local/process-table'
import { runScript, type RunningScript } from '../support/run-script'
import { FAST_ENV, startDeployer, type Deployer } from '../support/deployer'
import { waitFor } from './helpers'

/**
 * Item 7 of the deployer issue: a real worker process is killed (SIGKILL, no clean-up) at each named point
 * between the effects of a redeploy, and a freshly started worker finishes the work: one appserver per
 * instance (no duplicate VM, no orphan), consistent records, and the route on the new appserver.
 *
 * The database and the deployments are made in this process (no handlers run here); every job runs in
 * `scripts/worker.ts` processes, one at a time, so the crash worker is the only one to see the redeploy.
 */

const staff = systemActor('tests')
let env: Deployer
let dataDir: string
const running: RunningScript[] = []
/** start-up times of worker processes (spawn to "worker started"), and where each point's time went: reported at the end */
const boots: number[] = []
const timings: string[] = []

interface Target {
  instanceId: string
  first: { deploymentId: string; appserverId: string }
}
const targets = new Map<CrashPoint, Target>()

function startWorker(crashPoint?: CrashPoint): RunningScript {
  const worker = runScript('scripts/worker.ts', [], {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: 'test',
    DATABASE_URL: env.fresh.url,
    DATA_DIR: dataDir,
    AUTH_SECRET: process.env.AUTH_SECRET,
    SECRETS_KEYS: process.env.SECRETS_KEYS,
    HOSTING_ZONE: env.config.hostingZone,
    LOCAL_APPSERVER_DIR: env.stateDir,
    OWNER_TAG: env.config.ownerTag,
    ...FAST_ENV,
    // The replaced appserver is terminated once drained, so the redeploy reaches `appserver.after-destroy`.
    ROLLBACK_KEEP: '0',
    RECONCILE_INTERVAL_SECONDS: '1',
    WORKER_CONCURRENCY: '2',
    LOG_LEVEL: 'info',
    ...(crashPoint ? { CRASH_POINT: crashPoint } : {}),
  })
  running.push(worker)
  const spawned = Date.now()
  worker.waitFor('worker started', 60_000).then(
    () => boots.push(Date.now() - spawned),
    () => {},
  )
  return worker
}

async function stopWorker(worker: RunningScript) {
  expect(await worker.stop(), `worker exit code; output:\n${worker.output().slice(-3000)}`).toBe(0)
}

/** Rejects with the worker's output when `promise` takes longer than `ms`, or fails. */
async function within<T>(promise: Promise<T>, ms: number, what: string, worker: RunningScript): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms)
  })
  try {
    return await Promise.race([promise, timeout])
  } catch (err) {
    throw new Error(`${what}: ${err instanceof Error ? err.message : String(err)}\nworker output:\n${worker.output().slice(-4000)}`)
  } finally {
    clearTimeout(timer)
  }
}

/** Appservers and deployments the worker's reconciler jobs queued again (from its JSON log lines). */
function reconcilerResumed(worker: RunningScript): number {
  let resumed = 0
  for (const line of worker.output().split('\n')) {
    if (!line.startsWith('{') || !line.includes('"appservers.reconcile"')) continue
    const entry = JSON.parse(line) as { msg?: string; result?: { resumed?: number; deploymentsResumed?: number } }
    if (entry.msg === 'job done') resumed += (entry.result?.resumed ?? 0) + (entry.result?.deploymentsResumed ?? 0)
  }
  return resumed
}

const deploymentOf = (id: string) =>
  env.db.deployment.findUniqueOrThrow({ where: { id }, include: { appservers: { orderBy: { index: 'asc' } } } })

const transitionsOf = async (appserverId: string) =>
  (await env.db.appserverLogLine.findMany({ where: { appserverId, kind: 'transition' }, orderBy: { id: 'asc' } })).map((l) => l.toState)

beforeAll(async () => {
  env = await startDeployer({ ROLLBACK_KEEP: '0' }, { worker: false })
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'tenon-crash-data-'))
  // Deployment #1 of every instance at once, by one normal worker.
  for (const point of CRASH_POINTS) {
    const instance = await env.createInstance()
    const d = await createDeployment(env.orchestrator, { actor: staff, instanceId: instance.id })
    targets.set(point, { instanceId: instance.id, first: { deploymentId: d.id, appserverId: '' } })
  }
  const worker = startWorker()
  for (const target of targets.values()) {
    const d = await within(
      waitFor(
        'deployment #1 active',
        async () => {
          const d = await deploymentOf(target.first.deploymentId)
          return d.status === 'active' ? d : null
        },
        60_000,
      ),
      65_000,
      'deployment #1',
      worker,
    )
    target.first.appserverId = d.appservers[0]!.id
  }
  await stopWorker(worker)
}, 120_000)

afterEach(() => {
  // A failed test may leave a worker behind: never let it run into the next point.
  for (const worker of running.splice(0)) worker.kill()
})

afterAll(async () => {
  for (const worker of running.splice(0)) worker.kill()
  await env?.stop()
  if (dataDir) await rm(dataDir, { recursive: true, force: true })
  if (boots.length)
    console.info(
      [
        `crash-safety: ${boots.length} worker start-ups, ${Math.min(...boots)}–${Math.max(...boots)} ms (mean ${Math.round(boots.reduce((a, b) => a + b, 0) / boots.length)} ms)`,
        ...timings,
      ].join('\n'),
    )
})

describe('a worker killed at any point of a redeploy', () => {
  for (const point of CRASH_POINTS) {
    it(`is recovered by a restarted worker after a crash at ${point}`, async () => {
      const target = targets.get(point)!
      const started = Date.now()
      const crashing = startWorker(point)
      const second = await createDeployment(env.orchestrator, { actor: staff, instanceId: target.instanceId })

      // The crash really happened, at this point, by SIGKILL (no exit code, no clean-up).
      const code = await within(crashing.exited(), 45_000, `the crash at ${point}`, crashing)
      expect(crashing.output()).toContain(`CRASH_POINT ${point}: killing the worker`)
      expect(code, 'killed by a signal, not exited').toBeNull()

      const crashed = Date.now()
      const worker = startWorker()
      const d2 = await within(
        waitFor(
          'deployment #2 active and #1 terminated',
          async () => {
            const [d1, d2] = await Promise.all([deploymentOf(target.first.deploymentId), deploymentOf(second.id)])
            if (d2.status === 'failed' || d2.status === 'cancelled') throw new Error(`deployment #2 ${d2.status}: ${d2.error}`)
            return d2.status === 'active' && d1.status === 'terminated' && d1.appservers[0]?.state === 'terminated' ? d2 : null
          },
          40_000,
        ),
        45_000,
        `recovery after ${point}`,
        worker,
      )
      const a2 = d2.appservers[0]!
      timings.push(`${point}: crash after ${crashed - started} ms, recovered ${Date.now() - crashed} ms later`)

      // The restarted worker's reconciler found what the dead one left (its job stays taken until it expires).
      expect(reconcilerResumed(worker), worker.output().slice(-3000)).toBeGreaterThan(0)

      // One VM for the instance, the new appserver's; one process for it; none left anywhere else either.
      const vms = await env.orchestrator.driver('local').list()
      const ids = new Set(
        (await env.db.appserver.findMany({ where: { instanceId: target.instanceId }, select: { id: true } })).map((a) => a.id),
      )
      expect(vms.filter((v) => ids.has(v.appserverId)).map((v) => ({ id: v.appserverId, phase: v.phase }))).toEqual([
        { id: a2.id, phase: 'running' },
      ])
      const live = await env.db.appserver.findMany({ where: { state: { not: 'terminated' } }, select: { id: true, state: true } })
      expect(live.every((a) => a.state === 'active')).toBe(true)
      expect(vms.map((v) => v.appserverId).sort()).toEqual(live.map((a) => a.id).sort())
      const processes = await findTaggedProcesses(env.config.ownerTag)
      expect(processes.filter((p) => p.appserverId === a2.id)).toHaveLength(1)
      expect(processes.map((p) => p.appserverId).sort()).toEqual(live.map((a) => a.id).sort())

      // Consistent records: two appservers, each through its lifecycle once (a repeated step would show twice).
      expect(ids.size).toBe(2)
      expect(d2.appserverCount).toBe(1)
      expect(await transitionsOf(a2.id)).toEqual(['provisioning', 'configuring', 'starting', 'healthy', 'active'])
      expect(a2).toMatchObject({ state: 'active', failedPhase: null, error: null, nextCheckAt: null, vanishedAt: null })
      expect(a2.externalId).toBe(`local:${a2.id}`)
      expect(d2).toMatchObject({ status: 'active', error: null })
      expect(d2.activatedAt).not.toBeNull()
      const d1 = await deploymentOf(target.first.deploymentId)
      expect(d1.finishedAt).not.toBeNull()
      expect(d1.appservers[0]).toMatchObject({ state: 'terminated', failedPhase: null })
      expect(d1.appservers[0]!.terminatedAt).not.toBeNull()
      expect(await transitionsOf(target.first.appserverId)).toEqual([
        'provisioning',
        'configuring',
        'starting',
        'healthy',
        'active',
        'draining',
        'inactive',
        'terminating',
        'terminated',
      ])
      expect(await env.db.deployment.count({ where: { instanceId: target.instanceId } })).toBe(2)

      // The traffic goes to the new appserver, and it answers.
      const route = await env.db.instanceRoute.findUniqueOrThrow({ where: { instanceId: target.instanceId } })
      expect(route.url).toBe(a2.address)
      const res = await fetch(`${route.url}/heartbeat`)
      expect(res.status).toBe(200)
      expect(await (await fetch(`${route.url}/`)).text()).toContain('Served by appserver')

      await stopWorker(worker)
    }, 90_000)
  }
})
