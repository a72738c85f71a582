import type { AppserverState, VmDriverKind } from '@/lib/db/generated/enums'
import { vmDriverSettings } from '@/lib/deployments/create-orchestrator'
import type { Orchestrator } from '@/lib/deployments/orchestrator'
import { QUEUES } from '@/lib/jobs/queues'
import { retireInstance } from '@/lib/deployments/retire-instance'
import { VM_DRIVER_KINDS, type OwnedVm } from '@/provisioners/types'
import { transitionAppserver } from './appserver-log'
import { LIVE_APPSERVER_STATES, WORKING_APPSERVER_STATES } from './appserver-states'
import { planDrift, type DriftRecord } from './plan-drift'

export interface ReconcileReport {
  /** appservers whose next step was overdue (a lost job or a crashed worker) and were queued again */
  resumed: number
  /** archived instances whose appservers were still live */
  retired: number
  deploymentsResumed: number
  /** VMs with our tag and no live appserver, terminated */
  orphansDestroyed: string[]
  /** appservers whose VM is gone, marked failed */
  vanished: string[]
  errors: string[]
}

/** Slack before a planned check counts as lost: two check intervals, at least a second. */
const overdueMs = (o: Orchestrator) =>
  Math.max(1000, 2 * Math.max(o.config.appservers.pollIntervalMs, o.config.appservers.healthIntervalMs))

/**
 * The safety net behind the job chain: resumes appservers and deployments whose next step never came
 * (a worker killed mid-step, a job lost between commit and send), terminates VMs that carry our tag but
 * have no live appserver (after a grace period), and fails appservers whose VM vanished. Idempotent; any
 * number of workers may run it.
 */
export async function reconcileAppservers(o: Orchestrator): Promise<ReconcileReport> {
  const now = o.now()
  const report: ReconcileReport = { resumed: 0, retired: 0, deploymentsResumed: 0, orphansDestroyed: [], vanished: [], errors: [] }

  const stalled = await o.db.appserver.findMany({
    where: { state: { in: [...WORKING_APPSERVER_STATES] }, nextCheckAt: { lt: new Date(now.getTime() - overdueMs(o)) } },
    select: { id: true },
    take: 2000,
  })
  for (const a of stalled) await o.jobs.send(QUEUES.advanceAppserver.name, { appserverId: a.id })
  report.resumed = stalled.length

  const deployments = await o.db.deployment.findMany({
    where: {
      OR: [
        { status: { in: ['building', 'activating'] }, updatedAt: { lt: new Date(now.getTime() - overdueMs(o)) } },
        { status: { in: ['failed', 'cancelled'] }, finishedAt: null },
      ],
    },
    select: { id: true },
    take: 2000,
  })
  for (const d of deployments) await o.jobs.send(QUEUES.advanceDeployment.name, { deploymentId: d.id })
  report.deploymentsResumed = deployments.length

  const archived = await o.db.instance.findMany({
    where: { status: 'archived', appservers: { some: { state: { in: [...LIVE_APPSERVER_STATES].filter((st) => st !== 'terminating') } } } },
    select: { id: true },
    take: 500,
  })
  for (const i of archived) await retireInstance(o, i.id)
  report.retired = archived.length

  const rollouts = await o.db.rollout.findMany({
    where: { status: 'running', updatedAt: { lt: new Date(now.getTime() - overdueMs(o)) } },
    select: { id: true },
  })
  for (const r of rollouts) await o.jobs.send(QUEUES.advanceRollout.name, { rolloutId: r.id })

  for (const kind of VM_DRIVER_KINDS) {
    if (!vmDriverSettings(o.config, kind)) continue
    try {
      await reconcileDriver(o, kind, now, report)
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err)
      report.errors.push(`${kind}: ${message}`)
      o.log.warn({ err, driver: kind }, 'reconciling VMs failed; will try again')
    }
  }
  return report
}

async function reconcileDriver(o: Orchestrator, kind: VmDriverKind, now: Date, report: ReconcileReport) {
  const driver = o.driver(kind)
  const vms: OwnedVm[] = await driver.list()
  const records = await o.db.appserver.findMany({
    where: { OR: [{ id: { in: vms.map((v) => v.appserverId) } }, { driver: kind, state: { in: [...LIVE_APPSERVER_STATES] } }] },
    select: {
      id: true,
      state: true,
      externalId: true,
      vanishedAt: true,
      instanceId: true,
      deploymentId: true,
      instance: { select: { organizationId: true } },
    },
  })
  const plan = planDrift({
    vms,
    records: records.map((r): DriftRecord => ({ id: r.id, state: r.state, provisioned: r.externalId !== null, vanishedAt: r.vanishedAt })),
    now,
    orphanGraceMs: o.config.appservers.orphanGraceMs,
    vanishGraceMs: Math.max(o.config.appservers.pollIntervalMs, overdueMs(o)),
  })
  for (const vm of plan.destroy) {
    await driver.destroy({ externalId: vm.externalId }, (line) => o.log.info({ appserverId: vm.appserverId, driver: kind }, line))
    report.orphansDestroyed.push(vm.appserverId)
    o.log.warn(
      { appserverId: vm.appserverId, externalId: vm.externalId, driver: kind },
      'destroyed an orphan VM (no live appserver record)',
    )
  }
  if (plan.seenAgain.length) await o.db.appserver.updateMany({ where: { id: { in: plan.seenAgain } }, data: { vanishedAt: null } })
  if (plan.missingOnce.length)
    await o.db.appserver.updateMany({ where: { id: { in: plan.missingOnce }, vanishedAt: null }, data: { vanishedAt: now } })
  const byId = new Map(records.map((r) => [r.id, r]))
  for (const id of plan.vanished) {
    const failed = await o.db.$transaction(async (tx): Promise<string | false> => {
      const locked = await tx.$queryRaw<
        { state: AppserverState }[]
      >`SELECT state FROM appservers WHERE id = ${id}::uuid FOR UPDATE SKIP LOCKED`
      const r = byId.get(id)
      const state = locked[0]?.state
      if (!r || !state || !LIVE_APPSERVER_STATES.includes(state) || state === 'failed' || state === 'terminating') return false
      await transitionAppserver(
        tx,
        { id, state, instanceId: r.instanceId, organizationId: r.instance.organizationId },
        'failed',
        'its VM vanished (not found by the driver twice in a row)',
        { failedPhase: state, error: 'the VM vanished', nextCheckAt: now },
        now,
      )
      return r.deploymentId
    })
    if (failed) {
      report.vanished.push(id)
      await o.jobs.send(QUEUES.advanceAppserver.name, { appserverId: id })
      // Its deployment routes around it (an active one publishes its routing again).
      await o.jobs.send(QUEUES.advanceDeployment.name, { deploymentId: failed })
    }
  }
}
