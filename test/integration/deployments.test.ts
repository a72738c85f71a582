import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { systemActor } from '@/lib/auth/actor'
import { cancelDeployment } from '@/lib/deployments/cancel-deployment'
import { createDeployment } from '@/lib/deployments/create-deployment'
import { previewDeployment } from '@/lib/deployments/preview-deployment'
import { rollbackDeployment } from '@/lib/deployments/rollback-deployment'
import { DomainError } from '@/lib/errors'
import { archiveInstance } from '@/lib/instances/archive-instance'
import { QUEUES } from '@/lib/jobs/queues'
import { startDeployer, type Deployer } from '../support/deployer'
import { waitFor } from './helpers'

const staff = systemActor('tests')
let env: Deployer

beforeAll(async () => {
  env = await startDeployer({ ROLLBACK_KEEP: '1' })
})
afterAll(async () => {
  await env?.stop()
})

const deploymentOf = (id: string) =>
  env.db.deployment.findUniqueOrThrow({ where: { id }, include: { appservers: { orderBy: { index: 'asc' } } } })

async function waitForStatus(id: string, status: string, timeoutMs = 20_000) {
  return waitFor(
    `deployment ${id} ${status}`,
    async () => {
      const d = await deploymentOf(id)
      if (d.status !== status && ['failed', 'cancelled'].includes(d.status) && status !== d.status)
        throw new Error(`deployment ${d.status}: ${d.error}`)
      return d.status === status ? d : null
    },
    timeoutMs,
  )
}

async function page(url: string) {
  const res = await fetch(url)
  return { status: res.status, text: await res.text() }
}

describe('deployments on local appservers', () => {
  it('deploys, redeploys blue/green, keeps one for rollback, terminates the rest, and rolls back', async () => {
    const instance = await env.createInstance()
    const first = await createDeployment(env.orchestrator, { actor: staff, instanceId: instance.id })
    const d1 = await waitForStatus(first.id, 'active')
    const [a1] = d1.appservers
    expect(a1?.state).toBe('active')
    const route = await env.db.instanceRoute.findUniqueOrThrow({ where: { instanceId: instance.id } })
    expect(route.url).toBe(a1?.address)
    expect((await page(`${route.url}/`)).text).toContain('Served by appserver')

    // A transition log with a time for every step of the lifecycle.
    const log = await env.db.appserverLogLine.findMany({ where: { appserverId: a1!.id, kind: 'transition' }, orderBy: { id: 'asc' } })
    expect(log.map((l) => l.toState)).toEqual(['provisioning', 'configuring', 'starting', 'healthy', 'active'])

    const second = await createDeployment(env.orchestrator, { actor: staff, instanceId: instance.id })
    const d2 = await waitForStatus(second.id, 'active')
    const a2 = d2.appservers[0]!
    expect((await env.db.instanceRoute.findUniqueOrThrow({ where: { instanceId: instance.id } })).url).toBe(a2.address)
    // The old appserver drains, then is kept (inactive) for rollback, still running.
    const old = await waitFor('old appserver inactive', async () => {
      const a = await env.db.appserver.findUniqueOrThrow({ where: { id: a1!.id } })
      return a.state === 'inactive' ? a : null
    })
    expect((await page(`${old.address}/heartbeat`)).status).toBe(200)
    expect((await deploymentOf(first.id)).status).toBe('superseded')

    // A third deployment: with ROLLBACK_KEEP=1 the first one's appserver is terminated and its process gone.
    const third = await createDeployment(env.orchestrator, { actor: staff, instanceId: instance.id })
    await waitForStatus(third.id, 'active')
    await waitFor('first deployment terminated', async () => (await deploymentOf(first.id)).status === 'terminated', 20_000)
    await expect(fetch(`${old.address}/heartbeat`)).rejects.toThrow()
    const live = (await env.orchestrator.driver('local').list()).map((v) => v.appserverId).sort()
    expect(live).toEqual([a2.id, (await deploymentOf(third.id)).appservers[0]!.id].sort())

    // Roll back to the previous (kept) deployment: same appserver takes the traffic back, no new VM.
    const back = await rollbackDeployment(env.orchestrator, staff, instance.id)
    expect(back.id).toBe(second.id)
    await waitForStatus(second.id, 'active')
    expect((await env.db.instanceRoute.findUniqueOrThrow({ where: { instanceId: instance.id } })).url).toBe(a2.address)
    expect(await env.db.appserver.count({ where: { instanceId: instance.id } })).toBe(3)

    // Roll back to a terminated one: rebuilt from its frozen configuration.
    const rebuilt = await rollbackDeployment(env.orchestrator, staff, instance.id, first.id)
    expect(rebuilt.id).not.toBe(first.id)
    const dr = await waitForStatus(rebuilt.id, 'active')
    expect(dr.trigger).toBe('rollback')
    expect(dr.rollbackOfId).toBe(first.id)
    expect(dr.configuration).toEqual(d1.configuration)
  }, 90_000)

  it('refuses a second deployment while one is in progress (the database enforces it)', async () => {
    const instance = await env.createInstance()
    const results = await Promise.allSettled(
      Array.from({ length: 5 }, () => createDeployment(env.orchestrator, { actor: staff, instanceId: instance.id })),
    )
    const ok = results.filter((r) => r.status === 'fulfilled')
    const refused = results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []))
    expect(ok).toHaveLength(1)
    expect(refused).toHaveLength(4)
    for (const err of refused) {
      expect(err).toBeInstanceOf(DomainError)
      expect((err as DomainError).code).toBe('conflict')
      expect((err as DomainError).message).toMatch(/already in progress/)
    }
    await waitForStatus((ok[0] as PromiseFulfilledResult<{ id: string }>).value.id, 'active')
  }, 60_000)

  it('a new deployment that never becomes healthy fails; the active one keeps the traffic', async () => {
    const instance = await env.createInstance()
    const good = await createDeployment(env.orchestrator, { actor: staff, instanceId: instance.id })
    const d1 = await waitForStatus(good.id, 'active')
    // An empty platform name: the appserver runs but refuses to report healthy.
    await env.db.instance.update({ where: { id: instance.id }, data: { extraSettings: 'PLATFORM_NAME: ""\n' } })
    const preview = await previewDeployment(env.orchestrator, staff, instance.id)
    expect(preview.changes).toEqual([{ path: 'PLATFORM_NAME', kind: 'changed', before: expect.any(String), after: '' }])
    const bad = await createDeployment(env.orchestrator, { actor: staff, instanceId: instance.id })
    const failed = await waitForStatus(bad.id, 'failed', 30_000)
    expect(failed.error).toMatch(/appserver 1 failed while starting: .*health check failed.*503/)
    expect((await deploymentOf(good.id)).status).toBe('active')
    expect((await env.db.appserver.findUniqueOrThrow({ where: { id: d1.appservers[0]!.id } })).state).toBe('active')
    expect((await env.db.instanceRoute.findUniqueOrThrow({ where: { instanceId: instance.id } })).url).toBe(d1.appservers[0]!.address)
    // The failed appserver's VM is removed, and its failure stays readable.
    const gone = await waitFor('failed appserver terminated', async () => {
      const a = await env.db.appserver.findUniqueOrThrow({ where: { id: failed.appservers[0]!.id } })
      return a.state === 'terminated' ? a : null
    })
    expect(gone.failedPhase).toBe('starting')
    expect(gone.error).toMatch(/503/)
  }, 60_000)

  it('deploys N appservers per deployment and activates only when all are healthy', async () => {
    const instance = await env.createInstance({ appserverCount: 3 })
    const d = await createDeployment(env.orchestrator, { actor: staff, instanceId: instance.id })
    const active = await waitForStatus(d.id, 'active')
    expect(active.appservers.map((a) => a.state)).toEqual(['active', 'active', 'active'])
    const route = await env.db.instanceRoute.findUniqueOrThrow({ where: { instanceId: instance.id } })
    expect((route.routing as { backends: unknown[] }).backends).toHaveLength(3)
  }, 60_000)

  it('archiving an instance removes its routing and terminates its appservers', async () => {
    const instance = await env.createInstance()
    const d = await createDeployment(env.orchestrator, { actor: staff, instanceId: instance.id })
    const active = await waitForStatus(d.id, 'active')
    await archiveInstance({ db: env.db, actor: staff, hostingZone: env.config.hostingZone, id: instance.id, confirm: instance.slug })
    await env.orchestrator.jobs.send(QUEUES.retireInstance.name, { instanceId: instance.id })
    await waitFor(
      'appserver terminated',
      async () => (await env.db.appserver.findUniqueOrThrow({ where: { id: active.appservers[0]!.id } })).state === 'terminated',
    )
    expect(await env.db.instanceRoute.findUnique({ where: { instanceId: instance.id } })).toBeNull()
    expect((await deploymentOf(d.id)).status).toBe('terminated')
    await expect(createDeployment(env.orchestrator, { actor: staff, instanceId: instance.id })).rejects.toThrow(/archived/)
  }, 60_000)

  it('staff can cancel a building deployment; its appservers are removed', async () => {
    const instance = await env.createInstance()
    // A VM that never comes up within the test: a deployment that stays building.
    await env.db.instance.update({ where: { id: instance.id }, data: { extraSettings: 'PLATFORM_NAME: ""\n' } })
    const d = await createDeployment(env.orchestrator, { actor: staff, instanceId: instance.id })
    await cancelDeployment(env.orchestrator, staff, instance.id, d.id)
    const cancelled = await waitForStatus(d.id, 'cancelled')
    await waitFor('appservers terminated', async () => (await deploymentOf(cancelled.id)).appservers.every((a) => a.state === 'terminated'))
    await expect(cancelDeployment(env.orchestrator, staff, instance.id, d.id)).rejects.toThrow(/only a building deployment/)
  }, 60_000)
})
