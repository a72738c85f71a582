import type { Actor } from '@/lib/auth/actor'
import { assertStaff } from '@/lib/auth/policy'
import { recordAudit } from '@/lib/audit/record-audit'
import type { Orchestrator } from '@/lib/deployments/orchestrator'
import { conflict } from '@/lib/errors'
import { QUEUES } from '@/lib/jobs/queues'
import { getRollout } from './get-rollout'
import type { TRollout } from './schemas'

const ALLOWED = { pause: ['running'], resume: ['paused'], cancel: ['running', 'paused'] } as const

/**
 * Pause (start nothing new; deployments in flight finish), resume (after a pause, also one caused by the
 * failure budget: the budget then counts from the failures seen so far) or cancel (pending instances are
 * dropped; deployments in flight finish).
 */
export async function controlRollout(
  o: Pick<Orchestrator, 'db' | 'jobs' | 'now'>,
  actor: Actor,
  id: string,
  action: 'pause' | 'resume' | 'cancel',
): Promise<TRollout> {
  assertStaff(actor)
  const before = await getRollout(o.db, actor, id)
  await o.db.$transaction(
    async (tx) => {
      // NO KEY UPDATE: serialises with advance-rollout.ts without blocking inserts that reference the rollout.
      await tx.$queryRaw`SELECT id FROM rollouts WHERE id = ${id}::uuid FOR NO KEY UPDATE`
      const row = await tx.rollout.findUniqueOrThrow({ where: { id } })
      if (!(ALLOWED[action] as readonly string[]).includes(row.status))
        throw conflict(`A ${row.status} rollout cannot be ${action === 'cancel' ? 'cancelled' : action + 'd'}`, { status: row.status })
      if (action === 'pause') await tx.rollout.update({ where: { id }, data: { status: 'paused', pausedReason: 'paused by staff' } })
      if (action === 'resume') {
        // Resuming accepts the failures so far: the budget applies again to what remains.
        const failed = await tx.rolloutItem.count({ where: { rolloutId: id, status: 'failed' } })
        await tx.rollout.update({
          where: { id },
          data: {
            status: 'running',
            pausedReason: null,
            failureBudgetPercent: Math.min(100, Math.max(row.failureBudgetPercent, Math.ceil((failed * 100) / row.total))),
          },
        })
      }
      if (action === 'cancel') {
        await tx.rolloutItem.updateMany({ where: { rolloutId: id, status: 'pending' }, data: { status: 'cancelled', finishedAt: o.now() } })
        await tx.rollout.update({ where: { id }, data: { status: 'cancelled', finishedAt: o.now() } })
      }
      await recordAudit(tx, {
        actor,
        action: `rollout.${action === 'cancel' ? 'cancelled' : action + 'd'}`,
        targetType: 'rollout',
        targetId: id,
        organizationId: null,
        before: { status: before.status },
        after: { status: action === 'pause' ? 'paused' : action === 'resume' ? 'running' : 'cancelled' },
      })
    },
    // The rollout's own step may hold its row for a while (it starts up to `concurrency` deployments): wait for it.
    { timeout: 120_000, maxWait: 30_000 },
  )
  // One more step records outcomes of deployments that ended while this held the rollout (their steps found it busy).
  await o.jobs.send(QUEUES.advanceRollout.name, { rolloutId: id })
  return getRollout(o.db, actor, id)
}
