import { systemActor } from '@/lib/auth/actor'
import { recordAudit } from '@/lib/audit/record-audit'
import { transitionAppserver } from '@/lib/appservers/appserver-log'
import { crashPoint } from '@/lib/appservers/crash-point'
import type { Prisma } from '@/lib/db/generated/client'
import type { AppserverState, DeploymentStatus } from '@/lib/db/generated/enums'
import { QUEUES } from '@/lib/jobs/queues'
import { notifyEvent } from '@/lib/events/notify'
import { publishRouting } from '@/lib/routing/publish-routing'
import { assertDeploymentTransition } from './deployment-states'
import { lockAppservers, lockInstance } from './locks'
import type { Orchestrator } from './orchestrator'
import { planDeployment, planRetention, type DeploymentPlan } from './plan-deployment'

type Tx = Prisma.TransactionClient

const WITH_APPSERVERS = {
  appservers: { select: { id: true, state: true, error: true, failedPhase: true, index: true }, orderBy: { index: 'asc' } },
  instance: { select: { organizationId: true } },
} satisfies Prisma.DeploymentInclude

/**
 * Moves a deployment forward from its appservers' states: fail it when one fails (the active deployment
 * is never touched), activate it when all are healthy, finish it when all are gone, and apply the
 * instance's retention when a replaced deployment has drained. Every change holds the instance's row lock,
 * so the deployments of one instance change one at a time.
 */
export async function advanceDeployment(o: Orchestrator, deploymentId: string): Promise<{ status?: DeploymentStatus }> {
  const first = await o.db.$transaction((tx) => decide(o, tx, deploymentId), { timeout: 60_000, maxWait: 30_000 })
  // A rollout hears of its deployments only when they end (failed) or succeed (activated below).
  await wake(o, first.wake, first.status === 'failed' ? first.rolloutId : null)
  if (first.republish) await publishRouting(o, first.republish.instanceId)
  if (!first.activate) return { status: first.status }

  crashPoint(o.config.crashPoint, 'deployment.after-activating')
  await publishRouting(o, first.activate.instanceId)
  crashPoint(o.config.crashPoint, 'deployment.after-publish')
  const done = await o.db.$transaction((tx) => finishActivation(o, tx, deploymentId), { timeout: 60_000, maxWait: 30_000 })
  crashPoint(o.config.crashPoint, 'deployment.after-activate')
  await wake(o, done.wake, first.rolloutId)
  for (const d of done.draining) await o.jobs.send(QUEUES.advanceAppserver.name, { appserverId: d.id }, { startAfter: d.until })
  return { status: done.status }
}

interface Decision {
  status?: DeploymentStatus
  /** appservers to step now */
  wake: string[]
  rolloutId: string | null
  activate?: { instanceId: string }
  republish?: { instanceId: string }
}

async function decide(o: Orchestrator, tx: Tx, deploymentId: string): Promise<Decision> {
  const head = await tx.deployment.findUnique({ where: { id: deploymentId }, select: { instanceId: true } })
  if (!head) return { wake: [], rolloutId: null }
  await lockInstance(tx, head.instanceId)
  const d = await tx.deployment.findUniqueOrThrow({ where: { id: deploymentId }, include: WITH_APPSERVERS })
  const plan = planDeployment({ status: d.status, finished: d.finishedAt !== null, appservers: d.appservers })
  const now = o.now()
  const wake = await apply(o, tx, d, plan, now)
  if (d.status === 'superseded' || plan.kind === 'finish')
    wake.push(...(await applyRetention(o, tx, d.instanceId, d.instance.organizationId, now)))
  return {
    status: plan.kind === 'fail' ? 'failed' : plan.kind === 'activate' ? 'activating' : d.status,
    wake,
    rolloutId: d.rolloutId,
    activate: plan.kind === 'activate' || plan.kind === 'publish' ? { instanceId: d.instanceId } : undefined,
    republish: plan.kind === 'republish' ? { instanceId: d.instanceId } : undefined,
  }
}

type LoadedDeployment = Prisma.DeploymentGetPayload<{ include: typeof WITH_APPSERVERS }>

async function apply(o: Orchestrator, tx: Tx, d: LoadedDeployment, plan: DeploymentPlan, now: Date): Promise<string[]> {
  const org = d.instance.organizationId
  switch (plan.kind) {
    case 'fail': {
      assertDeploymentTransition(d.status, 'failed')
      await tx.deployment.update({ where: { id: d.id }, data: { status: 'failed', error: plan.error, finishedAt: null } })
      await recordAudit(tx, {
        actor: systemActor('deployer'),
        action: 'deployment.failed',
        targetType: 'instance',
        targetId: d.instanceId,
        organizationId: org,
        after: { deployment: d.number, error: plan.error },
      })
      return terminate(tx, d, plan.terminate, 'its deployment failed', now)
    }
    case 'activate':
      assertDeploymentTransition(d.status, 'activating')
      await tx.deployment.update({ where: { id: d.id }, data: { status: 'activating' } })
      await notifyEvent(tx, {
        id: d.id,
        action: 'deployment.activating',
        targetType: 'instance',
        targetId: d.instanceId,
        organizationId: org,
      })
      return []
    case 'terminate':
      return terminate(tx, d, plan.terminate, plan.reason, now)
    case 'finish':
      if (plan.status && plan.status !== d.status) assertDeploymentTransition(d.status, plan.status)
      await tx.deployment.update({ where: { id: d.id }, data: { finishedAt: now, ...(plan.status ? { status: plan.status } : {}) } })
      await notifyEvent(tx, {
        id: d.id,
        action: 'deployment.finished',
        targetType: 'instance',
        targetId: d.instanceId,
        organizationId: org,
      })
      return []
    case 'publish':
    case 'republish':
    case 'idle':
      return []
  }
}

/** Moves appservers to terminating (their steps destroy the VMs). */
async function terminate(tx: Tx, d: LoadedDeployment, ids: string[], reason: string, now: Date): Promise<string[]> {
  if (!ids.length) return []
  await lockAppservers(tx, ids)
  const rows = await tx.appserver.findMany({ where: { id: { in: ids } }, select: { id: true, state: true } })
  const moved: string[] = []
  for (const a of rows) {
    if (a.state === 'terminating' || a.state === 'terminated') continue
    await transitionAppserver(
      tx,
      { ...a, instanceId: d.instanceId, organizationId: d.instance.organizationId },
      'terminating',
      reason,
      { nextCheckAt: now },
      now,
    )
    moved.push(a.id)
  }
  return moved
}

/**
 * The new deployment takes the traffic: it becomes active, its appservers active; the previous active
 * deployment is superseded and its appservers drain for the grace period. One transaction.
 */
async function finishActivation(o: Orchestrator, tx: Tx, deploymentId: string) {
  const head = await tx.deployment.findUniqueOrThrow({ where: { id: deploymentId }, select: { instanceId: true } })
  await lockInstance(tx, head.instanceId)
  const d = await tx.deployment.findUniqueOrThrow({ where: { id: deploymentId }, include: WITH_APPSERVERS })
  if (d.status !== 'activating') return { status: d.status, wake: [] as string[], draining: [] as { id: string; until: Date }[] }
  const now = o.now()
  const org = d.instance.organizationId
  const previous = await tx.deployment.findFirst({ where: { instanceId: d.instanceId, status: 'active' }, include: WITH_APPSERVERS })
  const draining: { id: string; until: Date }[] = []
  if (previous) {
    assertDeploymentTransition('active', 'superseded')
    await tx.deployment.update({ where: { id: previous.id }, data: { status: 'superseded', supersededAt: now } })
    const until = new Date(now.getTime() + o.config.appservers.drainMs)
    await lockAppservers(
      tx,
      previous.appservers.map((a) => a.id),
    )
    for (const a of previous.appservers.filter((x) => x.state === 'active')) {
      await transitionAppserver(
        tx,
        { ...a, instanceId: d.instanceId, organizationId: org },
        'draining',
        `replaced by deployment #${d.number}; draining`,
        { drainUntil: until, nextCheckAt: until },
        now,
      )
      draining.push({ id: a.id, until })
    }
  }
  assertDeploymentTransition('activating', 'active')
  await tx.deployment.update({ where: { id: d.id }, data: { status: 'active', activatedAt: now, error: null } })
  await lockAppservers(
    tx,
    d.appservers.map((a) => a.id),
  )
  for (const a of d.appservers.filter((x) => x.state === 'healthy')) {
    await transitionAppserver(
      tx,
      { ...a, instanceId: d.instanceId, organizationId: org },
      'active',
      `deployment #${d.number} activated`,
      { nextCheckAt: null },
      now,
    )
  }
  await recordAudit(tx, {
    actor: systemActor('deployer'),
    action: 'deployment.activated',
    targetType: 'instance',
    targetId: d.instanceId,
    organizationId: org,
    before: previous ? { activeDeployment: previous.number } : null,
    after: { activeDeployment: d.number },
  })
  return { status: 'active' as DeploymentStatus, wake: [] as string[], draining }
}

/**
 * Keeps the newest ROLLBACK_KEEP replaced deployments running for a quick rollback and terminates the
 * appservers of older ones, once they have drained.
 */
async function applyRetention(o: Orchestrator, tx: Tx, instanceId: string, organizationId: string, now: Date): Promise<string[]> {
  const superseded = await tx.deployment.findMany({
    where: { instanceId, status: 'superseded' },
    orderBy: { number: 'desc' },
    include: WITH_APPSERVERS,
  })
  const plan = planRetention(
    superseded.map((d) => ({ id: d.id, appservers: d.appservers.map((a) => ({ id: a.id, state: a.state })) })),
    o.config.appservers.rollbackKeep,
  )
  const wake: string[] = []
  for (const d of superseded) {
    const ids = plan.terminate.get(d.id)
    if (ids?.length)
      wake.push(...(await terminate(tx, d, ids, `more than ${o.config.appservers.rollbackKeep} earlier deployments are kept`, now)))
    if (plan.finished.has(d.id)) {
      await tx.deployment.update({ where: { id: d.id }, data: { status: 'terminated', finishedAt: now } })
      await notifyEvent(tx, { id: d.id, action: 'deployment.finished', targetType: 'instance', targetId: instanceId, organizationId })
    }
  }
  return wake
}

async function wake(o: Orchestrator, ids: string[], rolloutId: string | null) {
  for (const id of ids) await o.jobs.send(QUEUES.advanceAppserver.name, { appserverId: id })
  if (rolloutId) await o.jobs.send(QUEUES.advanceRollout.name, { rolloutId })
}

export type { AppserverState }
