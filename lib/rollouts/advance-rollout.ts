import { systemActor } from '@/lib/auth/actor'
import { recordAudit } from '@/lib/audit/record-audit'
import { createDeployment } from '@/lib/deployments/create-deployment'
import type { Orchestrator } from '@/lib/deployments/orchestrator'
import { DomainError } from '@/lib/errors'
import { notifyEvent } from '@/lib/events/notify'
import { QUEUES } from '@/lib/jobs/queues'
import { itemOutcome, planRollout } from './plan-rollout'

/** How soon a step that found the rollout busy looks again. */
const BUSY_RETRY_MS = 500

/**
 * One step of a rollout, under its row lock: records the outcome of finished deployments, pauses when the
 * failure budget is spent, starts the next instances up to the concurrency limit, completes when done.
 * Idempotent: an instance whose deployment for this rollout exists already is adopted, not deployed twice.
 */
export async function advanceRollout(o: Orchestrator, rolloutId: string): Promise<{ status?: string; started: number }> {
  const result = await o.db.$transaction(
    async (tx): Promise<{ status?: string; started: number; busy?: boolean }> => {
      // NO KEY UPDATE, not UPDATE: the deployments created below (on another connection) reference this row, and
      // their foreign key check takes a KEY SHARE lock, which FOR UPDATE would block until this transaction ends.
      // SKIP LOCKED: waiting for the lock would hold a connection the lock holder may need for createDeployment.
      const locked = await tx.$queryRaw<
        { id: string }[]
      >`SELECT id FROM rollouts WHERE id = ${rolloutId}::uuid FOR NO KEY UPDATE SKIP LOCKED`
      if (!locked.length) {
        const exists = await tx.rollout.findUnique({ where: { id: rolloutId }, select: { id: true } })
        return { started: 0, busy: exists !== null }
      }
      const rollout = await tx.rollout.findUniqueOrThrow({ where: { id: rolloutId } })
      const now = o.now()

      // Outcomes of the deployments in flight.
      const deploying = await tx.rolloutItem.findMany({ where: { rolloutId, status: 'deploying' } })
      const deployments = await tx.deployment.findMany({
        where: { id: { in: deploying.flatMap((i) => (i.deploymentId ? [i.deploymentId] : [])) } },
        select: { id: true, status: true, error: true },
      })
      const byId = new Map(deployments.map((d) => [d.id, d]))
      for (const item of deploying) {
        const d = item.deploymentId ? byId.get(item.deploymentId) : undefined
        const outcome = d ? itemOutcome(d.status) : 'failed'
        if (!outcome) continue
        await tx.rolloutItem.update({
          where: { rolloutId_instanceId: { rolloutId, instanceId: item.instanceId } },
          data: { status: outcome, finishedAt: now, error: outcome === 'failed' ? (d?.error ?? 'the deployment is gone') : null },
        })
      }

      const items = await tx.rolloutItem.findMany({ where: { rolloutId }, select: { instanceId: true, position: true, status: true } })
      const plan = planRollout({ ...rollout, items })
      const actor = systemActor('scheduler')
      if (plan.pause) {
        await tx.rollout.update({ where: { id: rolloutId }, data: { status: 'paused', pausedReason: plan.pause } })
        await recordAudit(tx, {
          actor,
          action: 'rollout.paused',
          targetType: 'rollout',
          targetId: rolloutId,
          organizationId: null,
          after: { reason: plan.pause },
        })
        return { status: 'paused', started: 0 }
      }
      if (plan.complete) {
        await tx.rollout.update({ where: { id: rolloutId }, data: { status: 'completed', finishedAt: now } })
        await recordAudit(tx, { actor, action: 'rollout.completed', targetType: 'rollout', targetId: rolloutId, organizationId: null })
        return { status: 'completed', started: 0 }
      }
      let started = 0
      for (const instanceId of plan.start) {
        const existing = await tx.deployment.findFirst({ where: { rolloutId, instanceId }, select: { id: true } })
        let deploymentId = existing?.id
        let skipped: string | undefined
        if (!deploymentId) {
          try {
            deploymentId = (await createDeployment(o, { actor, instanceId, trigger: 'rollout', rolloutId })).id
          } catch (err) {
            // An instance archived or busy with another deployment since selection is skipped, not failed.
            if (!(err instanceof DomainError) || (err.code !== 'conflict' && err.code !== 'not_found')) throw err
            skipped = err.message
          }
        }
        await tx.rolloutItem.update({
          where: { rolloutId_instanceId: { rolloutId, instanceId } },
          data: skipped ? { status: 'skipped', error: skipped, finishedAt: now } : { status: 'deploying', deploymentId, startedAt: now },
        })
        if (!skipped) started++
      }
      await notifyEvent(tx, {
        id: `${rolloutId}:${now.getTime()}`,
        action: 'rollout.progressed',
        targetType: 'rollout',
        targetId: rolloutId,
        organizationId: null,
      })
      return { status: rollout.status, started }
    },
    { timeout: 120_000, maxWait: 30_000 },
  )
  // Another worker holds the rollout: it may have read the deployments before the change that sent this job, so look again.
  if (result.busy) await o.jobs.send(QUEUES.advanceRollout.name, { rolloutId }, { startAfter: new Date(o.now().getTime() + BUSY_RETRY_MS) })
  return { status: result.status, started: result.started }
}
