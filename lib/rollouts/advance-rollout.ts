import { systemActor } from '@/lib/auth/actor'
import { recordAudit } from '@/lib/audit/record-audit'
import { createDeployment } from '@/lib/deployments/create-deployment'
import type { Orchestrator } from '@/lib/deployments/orchestrator'
import { DomainError } from '@/lib/errors'
import { notifyEvent } from '@/lib/events/notify'
import { itemOutcome, planRollout } from './plan-rollout'

/**
 * One step of a rollout, under its row lock: records the outcome of finished deployments, pauses when the
 * failure budget is spent, starts the next instances up to the concurrency limit, completes when done.
 * Idempotent: an instance whose deployment for this rollout exists already is adopted, not deployed twice.
 */
export async function advanceRollout(o: Orchestrator, rolloutId: string): Promise<{ status?: string; started: number }> {
  return o.db.$transaction(
    async (tx) => {
      const locked = await tx.$queryRaw<{ id: string }[]>`SELECT id FROM rollouts WHERE id = ${rolloutId}::uuid FOR UPDATE`
      if (!locked.length) return { started: 0 }
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
}
