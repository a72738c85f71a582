/**
 * Rolling redeploys. First a real run: a scheduler rollout over 50 Nomad instances (the Nomad protocol
 * double, with failures injected for some instances) that pauses at its failure budget, lets the deployments
 * in flight finish, starts nothing while paused, continues on resume and drops what is left on cancel.
 * Then the API (on the shared database, no worker): who may start and steer a rollout, and what a
 * selection selects.
 */
import { randomBytes, randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as rolloutActionsRoute from '@/app/api/v1/rollouts/[id]/actions/route'
import * as rolloutItemsRoute from '@/app/api/v1/rollouts/[id]/items/route'
import * as rolloutRoute from '@/app/api/v1/rollouts/[id]/route'
import * as rolloutsRoute from '@/app/api/v1/rollouts/route'
import { systemActor } from '@/lib/auth/actor'
import { getBlueprint } from '@/lib/blueprints'
import { nodeRsaPrivateKey } from '@/lib/blueprints/render-openedx'
import { getDb } from '@/lib/db/client'
import type { RolloutItemStatus } from '@/lib/db/generated/enums'
import { createDeployment } from '@/lib/deployments/create-deployment'
import { createInstance } from '@/lib/instances/create-instance'
import { controlRollout } from '@/lib/rollouts/control-rollout'
import { createRollout } from '@/lib/rollouts/create-rollout'
import { selectInstances } from '@/lib/rollouts/select-instances'
import { sealJson } from '@/lib/secrets'
import { startNomadDouble, type NomadDouble } from '@/test/fakes/nomad/server'
import { callRoute, type JsonBody } from '../support/call-route'
import { startDeployer, type Deployer } from '../support/deployer'
import { createTestOrganization, createTestUser, uniq, type TestUser } from '../support/fixtures'
import { auditOf, createInstanceVia, fieldsOf, sleep, waitFor } from './helpers'

const scheduler = systemActor('scheduler')
const INSTANCES = 50
/** Positions (in rollout order) of the instances whose new appservers never start. */
const FAILING_POSITIONS = [0, 2, 4, 6, 8, 10, 12, 14]
const BUDGET = 10

describe('a scheduler rollout over 50 Nomad instances with injected failures', () => {
  let nomad: NomadDouble
  let env: Deployer
  let organizationId: string
  /** instance ids in rollout order */
  let order: string[]
  const failing = new Map<string, { slug: string; activeDeploymentId: string; appserverId: string; address: string | null }>()

  beforeAll(async () => {
    nomad = await startNomadDouble({ bootDelayMs: 20 })
    env = await startDeployer({ VM_DRIVER: 'nomad', NOMAD_ADDR: nomad.url, WORKER_CONCURRENCY: '6' })
    const org = await env.db.organization.create({ data: { name: `Fleet ${uniq()}`, slug: `fleet-${uniq()}` } })
    organizationId = org.id
    const slugs = new Map<string, string>()
    const rsaKey = nodeRsaPrivateKey(2048)
    for (let i = 0; i < INSTANCES; i++) {
      const instance = await createInstance({
        db: env.db,
        actor: scheduler,
        hostingZone: env.config.hostingZone,
        resources: { box: env.orchestrator.box, ownerTag: env.config.ownerTag, jobs: env.orchestrator.jobs },
        input: {
          organizationId,
          name: `Fleet site ${i} ${uniq()}`,
          blueprint: 'openedx',
          settings: { contactEmail: 'ops@example.test' },
          extraSettings: '',
          appserverCount: 1,
        },
      })
      slugs.set(instance.id, instance.slug)
      // The secrets a first deployment would generate, stored now with one RSA key for all: 50 key pairs would
      // cost seconds of CPU inside the rollout's steps and say nothing about rollouts.
      const secrets = getBlueprint('openedx').generateMissingSecrets({}, randomBytes, () => rsaKey)
      await env.db.instance.update({ where: { id: instance.id }, data: { secrets: sealJson(env.orchestrator.box, secrets) } })
    }
    // The order the rollout goes through them (the function the rollout itself uses).
    order = await selectInstances(env.db, { organizationId }, new Date())
    expect(order).toHaveLength(INSTANCES)

    // The instances that will fail are live already: their active deployment must come through untouched.
    // One at a time, as staff would deploy them.
    const first: { id: string; instanceId: string }[] = []
    for (const p of FAILING_POSITIONS) first.push(await createDeployment(env.orchestrator, { actor: scheduler, instanceId: order[p]! }))
    await waitFor(
      'the first deployments of the instances that will fail to be active',
      async () => {
        const rows = await env.db.deployment.findMany({ where: { id: { in: first.map((d) => d.id) } } })
        const broken = rows.find((d) => d.status === 'failed')
        if (broken) throw new Error(`a first deployment failed: ${broken.error}`)
        return rows.every((d) => d.status === 'active')
      },
      60_000,
    )
    for (const d of first) {
      const a = await env.db.appserver.findFirstOrThrow({ where: { deploymentId: d.id } })
      failing.set(d.instanceId, { slug: slugs.get(d.instanceId)!, activeDeploymentId: d.id, appserverId: a.id, address: a.address })
    }
    const failingSlugs = new Set([...failing.values()].map((f) => f.slug))
    nomad.failJobsMatching((job) => failingSlugs.has(job.meta.tenon_instance ?? ''), 'Failed to pull image: manifest unknown')
  }, 90_000)

  afterAll(async () => {
    await env?.stop()
    await nomad?.close()
  })

  const itemCounts = async (rolloutId: string) => {
    const groups = await env.db.rolloutItem.groupBy({ by: ['status'], where: { rolloutId }, _count: { _all: true } })
    const counts: Record<RolloutItemStatus, number> = { pending: 0, deploying: 0, succeeded: 0, failed: 0, skipped: 0, cancelled: 0 }
    for (const g of groups) counts[g.status] = g._count._all
    return counts
  }
  const rolloutRow = (id: string) => env.db.rollout.findUniqueOrThrow({ where: { id } })
  const deploymentsOf = (rolloutId: string) => env.db.deployment.findMany({ where: { rolloutId }, select: { id: true, status: true } })

  it('pauses once more than 10% failed, lets deployments in flight finish, starts nothing while paused, resumes and cancels', async () => {
    const started = Date.now()
    const rollout = await createRollout(env.orchestrator, scheduler, {
      selection: { organizationId },
      concurrency: 10,
      failureBudgetPercent: BUDGET,
    })
    expect(rollout).toMatchObject({ status: 'running', total: INSTANCES, concurrency: 10, failureBudgetPercent: BUDGET })
    expect(rollout.counts.pending).toBe(INSTANCES)
    const items = await env.db.rolloutItem.findMany({ where: { rolloutId: rollout.id }, orderBy: { position: 'asc' } })
    expect(items.map((i) => i.instanceId)).toEqual(order)

    // It never has more than `concurrency` deployments in flight; it pauses at the budget.
    let maxInFlight = 0
    const paused = await waitFor(
      'the rollout to pause',
      async () => {
        const [row, counts] = await Promise.all([rolloutRow(rollout.id), itemCounts(rollout.id)])
        maxInFlight = Math.max(maxInFlight, counts.deploying)
        if (row.status === 'completed') throw new Error('the rollout completed instead of pausing')
        return row.status === 'paused' ? row : null
      },
      45_000,
    )
    expect(maxInFlight).toBeLessThanOrEqual(10)
    const reason = /^(\d+) of 50 instances failed, more than the failure budget of 10%$/.exec(paused.pausedReason ?? '')
    expect(reason, `paused reason: ${paused.pausedReason}`).not.toBeNull()
    // More than 10% of 50 is 6 or more: it did not pause early.
    expect(Number(reason![1])).toBeGreaterThanOrEqual(6)
    const pausedAudit = await env.db.auditEntry.findMany({ where: { targetId: rollout.id, action: 'rollout.paused' } })
    expect(pausedAudit).toHaveLength(1)
    expect(pausedAudit[0]).toMatchObject({ actorLabel: 'system:scheduler', targetType: 'rollout' })

    // The deployments in flight finish (their items get an outcome); nothing new starts.
    await waitFor('the deployments in flight to finish', async () => (await itemCounts(rollout.id)).deploying === 0, 30_000)
    const settled = await itemCounts(rollout.id)
    const deployments = await deploymentsOf(rollout.id)
    expect(deployments.length).toBe(settled.succeeded + settled.failed)
    expect(settled.pending).toBe(INSTANCES - deployments.length)
    expect(settled.pending).toBeGreaterThan(0)
    for (const d of deployments) expect(['active', 'failed']).toContain(d.status)
    // Every instance that failed is one of those with the injected failure, and every started one of those failed.
    const failedItems = await env.db.rolloutItem.findMany({ where: { rolloutId: rollout.id, status: 'failed' } })
    for (const item of failedItems) {
      expect(failing.has(item.instanceId)).toBe(true)
      expect(item.error).toMatch(/appserver 1 failed while provisioning: .*Failed to pull image/)
    }
    const startedFailing = (
      await env.db.rolloutItem.findMany({ where: { rolloutId: rollout.id, instanceId: { in: [...failing.keys()] } } })
    ).filter((i) => i.status !== 'pending')
    expect(startedFailing.every((i) => i.status === 'failed')).toBe(true)
    expect(settled.failed).toBe(startedFailing.length)

    // The reconciler runs every second here and a finished deployment wakes the rollout: still nothing starts.
    await sleep(2_500)
    expect(await itemCounts(rollout.id)).toEqual(settled)
    expect((await deploymentsOf(rollout.id)).length).toBe(deployments.length)
    expect((await rolloutRow(rollout.id)).status).toBe('paused')

    // The failed instances still run their earlier deployment, untouched: same appserver, still active and routed.
    for (const [instanceId, f] of failing) {
      const active = await env.db.deployment.findFirstOrThrow({ where: { instanceId, status: 'active' }, include: { appservers: true } })
      expect(active.id).toBe(f.activeDeploymentId)
      expect(active.appservers.map((a) => [a.id, a.state])).toEqual([[f.appserverId, 'active']])
      const route = await env.db.instanceRoute.findUniqueOrThrow({ where: { instanceId } })
      expect(route.url).toBe(f.address)
      const job = nomad.jobs().find((j) => j.meta.tenon_appserver_id === f.appserverId)
      expect(job).toMatchObject({ status: 'running', stop: false })
    }

    // Resume: the failures so far are accepted (the budget now counts from them) and it continues.
    const resumed = await controlRollout(env.orchestrator, scheduler, rollout.id, 'resume')
    expect(resumed.status).toBe('running')
    expect(resumed.pausedReason).toBeNull()
    expect(resumed.failureBudgetPercent).toBe(Math.max(BUDGET, Math.ceil((settled.failed * 100) / INSTANCES)))
    await waitFor(
      'the rollout to start more deployments',
      async () => (await deploymentsOf(rollout.id)).length > deployments.length,
      20_000,
    )

    // Cancel: pending instances are dropped, deployments in flight finish, nothing new starts.
    const cancelled = await controlRollout(env.orchestrator, scheduler, rollout.id, 'cancel')
    expect(cancelled.status).toBe('cancelled')
    expect(cancelled.finishedAt).not.toBeNull()
    expect(cancelled.counts.pending).toBe(0)
    expect(cancelled.counts.cancelled).toBeGreaterThan(0)
    await waitFor(
      'the deployments in flight to finish after the cancel',
      async () => (await itemCounts(rollout.id)).deploying === 0,
      30_000,
    )
    const final = await itemCounts(rollout.id)
    const all = await deploymentsOf(rollout.id)
    expect(final.cancelled).toBe(cancelled.counts.cancelled)
    expect(final.succeeded + final.failed).toBe(all.length)
    expect(final.succeeded + final.failed + final.cancelled).toBe(INSTANCES)
    for (const d of all) expect(['active', 'failed']).toContain(d.status)
    await sleep(1_500)
    expect((await deploymentsOf(rollout.id)).length).toBe(all.length)
    expect((await rolloutRow(rollout.id)).status).toBe('cancelled')

    // A cancelled rollout cannot be resumed or cancelled again.
    await expect(controlRollout(env.orchestrator, scheduler, rollout.id, 'resume')).rejects.toMatchObject({ code: 'conflict' })
    await expect(controlRollout(env.orchestrator, scheduler, rollout.id, 'cancel')).rejects.toMatchObject({ code: 'conflict' })
    const actions = (await env.db.auditEntry.findMany({ where: { targetId: rollout.id }, orderBy: [{ at: 'asc' }, { id: 'asc' }] })).map(
      (e) => e.action,
    )
    expect(actions).toEqual(['rollout.created', 'rollout.paused', 'rollout.resumed', 'rollout.cancelled'])
    expect(Date.now() - started).toBeLessThan(90_000)
  }, 120_000)
})

// -------------------------------------------------------------------------------------------------
// The API, on the shared database. There is no worker there: a rollout stays `running` with its items pending.

describe('the rollouts API', () => {
  let staff: TestUser
  let client: TestUser
  let orgId: string
  /** created in this order: old (active 30 days ago), fresh (active yesterday), never deployed (teak) */
  let old: string
  let fresh: string
  let never: string

  const post = (token: string, body: unknown) => callRoute(rolloutsRoute.POST, { token, body })
  const act = (token: string, id: string, body: unknown) => callRoute(rolloutActionsRoute.POST, { token, params: { id }, body })
  const itemsOf = async (id: string) => {
    const res = await callRoute(rolloutItemsRoute.GET, { token: staff.token, params: { id } })
    expect(res.status).toBe(200)
    return res.body.items.map((i: JsonBody) => i.instance.id)
  }

  /** An active deployment activated `days` ago, as a worker would have left it. */
  async function activeSince(instanceId: string, days: number) {
    const at = new Date(Date.now() - days * 86_400_000)
    await getDb().deployment.create({
      data: {
        instanceId,
        number: 1,
        status: 'active',
        trigger: 'deploy',
        driver: 'local',
        appserverCount: 1,
        configuration: {},
        configurationSecrets: 'v1.none.x.y.z',
        secretKeys: [],
        healthPath: '/heartbeat',
        requestedBy: 'tests',
        createdAt: at,
        activatedAt: at,
      },
    })
  }

  beforeAll(async () => {
    staff = await createTestUser({ staff: true })
    orgId = (await createTestOrganization()).id
    client = await createTestUser({ organizationId: orgId, role: 'owner' })
    old = (await createInstanceVia(staff.token, orgId)).id
    fresh = (await createInstanceVia(staff.token, orgId)).id
    never = (await createInstanceVia(staff.token, orgId, { settings: { contactEmail: 'ops@example.test', release: 'teak.2' } })).id
    await activeSince(old, 30)
    await activeSince(fresh, 1)
  })

  it('staff POST → 201 with the rollout; audited', async () => {
    const res = await post(staff.token, { selection: { organizationId: orgId }, concurrency: 2, failureBudgetPercent: 20 })
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    expect(res.body).toMatchObject({
      status: 'running',
      selection: { organizationId: orgId },
      concurrency: 2,
      failureBudgetPercent: 20,
      total: 3,
      counts: { pending: 3, deploying: 0, succeeded: 0, failed: 0, skipped: 0, cancelled: 0 },
      pausedReason: null,
      createdBy: staff.email,
      finishedAt: null,
    })
    expect(await itemsOf(res.body.id)).toEqual([old, fresh, never])
    const audit = await auditOf(res.body.id)
    expect(audit.map((e) => e.action)).toEqual(['rollout.created'])
    expect(audit[0]).toMatchObject({ actorId: staff.id, targetType: 'rollout', organizationId: null })
    // defaults
    const defaults = await post(staff.token, { selection: { instanceIds: [never] } })
    expect(defaults.status).toBe(201)
    expect(defaults.body).toMatchObject({ concurrency: 5, failureBudgetPercent: 10, total: 1 })
  })

  it('a client (even of the selected organization) → 403, and nothing is created', async () => {
    const res = await post(client.token, { selection: { organizationId: orgId } })
    expect(res.status).toBe(403)
    expect((await callRoute(rolloutsRoute.GET, { token: client.token })).status).toBe(403)
    expect(await getDb().rollout.count({ where: { createdById: client.id } })).toBe(0)
  })

  it('a selection that matches nothing → 400 naming `selection`; bad fields → 400 naming them', async () => {
    const empty = await post(staff.token, { selection: { organizationId: randomUUID() } })
    expect(empty.status).toBe(400)
    expect(fieldsOf(empty.body)).toEqual(['selection'])
    const unknownIds = await post(staff.token, { selection: { instanceIds: [randomUUID()] } })
    expect(unknownIds.status).toBe(400)
    expect(fieldsOf(unknownIds.body)).toEqual(['selection'])
    const bad = await post(staff.token, { selection: { organizationId: orgId, colour: 'blue' }, concurrency: 0, failureBudgetPercent: 101 })
    expect(bad.status).toBe(400)
    expect(fieldsOf(bad.body).sort()).toEqual(['concurrency', 'failureBudgetPercent', 'selection.colour'])
    const noSelection = await post(staff.token, {})
    expect(noSelection.status).toBe(400)
    expect(fieldsOf(noSelection.body)).toEqual(['selection'])
  })

  it('selects by organization, release, age of the active deployment, and instance ids; every filter applies', async () => {
    const select = async (selection: Record<string, unknown>) => {
      const res = await post(staff.token, { selection: { organizationId: orgId, ...selection } })
      expect(res.status, JSON.stringify(res.body)).toBe(201)
      return itemsOf(res.body.id)
    }
    expect(await select({ release: 'teak.2' })).toEqual([never])
    expect(await select({ release: 'ulmo.1' })).toEqual([old, fresh])
    // active for at least 7 days, or never deployed
    expect(await select({ olderThanDays: 7 })).toEqual([old, never])
    expect(await select({ olderThanDays: 0 })).toEqual([old, fresh, never])
    expect(await select({ olderThanDays: 7, release: 'ulmo.1' })).toEqual([old])
    expect(await select({ instanceIds: [never, fresh] })).toEqual([fresh, never])
    const none = await post(staff.token, { selection: { organizationId: orgId, release: 'redwood.3' } })
    expect(none.status).toBe(400)
  })

  it('actions: pause, resume, cancel; a bad transition → 409; audited', async () => {
    const created = await post(staff.token, { selection: { organizationId: orgId } })
    const id = created.body.id
    const paused = await act(staff.token, id, { action: 'pause' })
    expect(paused.status).toBe(200)
    expect(paused.body).toMatchObject({ status: 'paused', pausedReason: 'paused by staff' })
    const pausedAgain = await act(staff.token, id, { action: 'pause' })
    expect(pausedAgain.status).toBe(409)
    expect(pausedAgain.body.error.message).toBe('A paused rollout cannot be paused')
    const resumed = await act(staff.token, id, { action: 'resume' })
    expect(resumed.status).toBe(200)
    expect(resumed.body).toMatchObject({ status: 'running', pausedReason: null })
    expect((await act(staff.token, id, { action: 'resume' })).status).toBe(409)
    const cancelled = await act(staff.token, id, { action: 'cancel' })
    expect(cancelled.status).toBe(200)
    expect(cancelled.body).toMatchObject({ status: 'cancelled', counts: { pending: 0, cancelled: 3 } })
    expect(cancelled.body.finishedAt).not.toBeNull()
    for (const action of ['pause', 'resume', 'cancel']) {
      const res = await act(staff.token, id, { action })
      expect(res.status).toBe(409)
      expect(res.body.error.code).toBe('conflict')
    }
    expect((await auditOf(id)).map((e) => e.action)).toEqual(['rollout.created', 'rollout.paused', 'rollout.resumed', 'rollout.cancelled'])

    const read = await callRoute(rolloutRoute.GET, { token: staff.token, params: { id } })
    expect(read.status).toBe(200)
    expect(read.body.status).toBe('cancelled')
  })

  it('actions: invalid → 400 naming `action`; a client → 403; an unknown rollout → 404', async () => {
    const created = await post(staff.token, { selection: { instanceIds: [old] } })
    const id = created.body.id
    const bad = await act(staff.token, id, { action: 'restart' })
    expect(bad.status).toBe(400)
    expect(fieldsOf(bad.body)).toEqual(['action'])
    expect((await act(client.token, id, { action: 'cancel' })).status).toBe(403)
    expect((await callRoute(rolloutRoute.GET, { token: client.token, params: { id } })).status).toBe(403)
    expect((await act(staff.token, randomUUID(), { action: 'cancel' })).status).toBe(404)
    expect((await act(staff.token, 'not-a-rollout', { action: 'cancel' })).status).toBe(404)
    expect((await callRoute(rolloutRoute.GET, { token: staff.token, params: { id } })).body.status).toBe('running')
  })
})
