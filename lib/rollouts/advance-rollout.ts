import { systemActor } from '@/lib/auth/actor'
import { recordAudit } from '@/lib/audit/record-audit'
import { DeploymentStatus } from '@/lib/db/generated/enums'
import { createDeployment } from '@/lib/deployments/create-deployment'
import type { Orchestrator } from '@/lib/deployments/orchestrator'
import { DomainError } from '@/lib/errors'
import { notifyEvent } from '@/lib/events/notify'
import { QUEUES } from '@/lib/jobs/queues'
import { itemOutcome, planRollout } from './plan-rollout'

/** Deployments one step starts side by side. */
const STARTS_AT_ONCE = 4

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
      // Starts run a few at a time: each is a transaction of its own, on its own connection. One after the other, a step
      // starting 50 deployments held the rollout for 10 s on a busy machine, and the starts paced the whole rollout.
      const adopted = new Map(
        (
          await tx.deployment.findMany({ where: { rolloutId, instanceId: { in: plan.start } }, select: { id: true, instanceId: true } })
        ).map((d) => [d.instanceId, d.id]),
      )
      let started = 0
      for (let i = 0; i < plan.start.length; i += STARTS_AT_ONCE) {
        const batch = plan.start.slice(i, i + STARTS_AT_ONCE)
        const outcomes = await Promise.allSettled(
          batch.map(
            async (instanceId) =>
              adopted.get(instanceId) ?? (await createDeployment(o, { actor, instanceId, trigger: 'rollout', rolloutId })).id,
          ),
        )
        for (const [k, instanceId] of batch.entries()) {
          const outcome = outcomes[k]!
          const where = { rolloutId_instanceId: { rolloutId, instanceId } }
          if (outcome.status === 'rejected') {
            const err: unknown = outcome.reason
            // An instance archived or busy with another deployment since selection is skipped, not failed.
            if (!(err instanceof DomainError) || (err.code !== 'conflict' && err.code !== 'not_found')) throw err
            await tx.rolloutItem.update({ where, data: { status: 'skipped', error: err.message, finishedAt: now } })
            continue
          }
          await tx.rolloutItem.update({ where, data: { status: 'deploying', deploymentId: outcome.value, startedAt: now } })
          started++
        }
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
  // Another step holds the rollout: it looks again once it has committed (below), so this job ends here. Re-sending
  // it instead made one retry loop per deployment that ended while a long step (one that starts many deployments)
  // held the row: thousands of steps in a large rollout, each taking a connection.
  if (result.busy) return { started: 0 }
  // Deployments that ended while this step held the row sent jobs that found it busy: one more step sees them.
  if (await outcomesWaiting(o, rolloutId)) await o.jobs.send(QUEUES.advanceRollout.name, { rolloutId })
  return { status: result.status, started: result.started }
}

/** Whether an item is still "deploying" while its deployment has ended (an outcome this rollout has not recorded). */
async function outcomesWaiting(o: Orchestrator, rolloutId: string): Promise<boolean> {
  const ended = Object.values(DeploymentStatus).filter((s) => itemOutcome(s) !== undefined)
  const rows = await o.db.$queryRaw<{ found: number }[]>`
    SELECT 1 AS found FROM rollout_items i JOIN deployments d ON d.id = i.deployment_id
     WHERE i.rollout_id = ${rolloutId}::uuid AND i.status = 'deploying' AND d.status::text = ANY(${ended}::text[])
     LIMIT 1`
  return rows.length > 0
}
