import { systemActor } from '@/lib/auth/actor'
import type { Orchestrator } from '@/lib/deployments/orchestrator'
import { DomainError } from '@/lib/errors'
import { createRollout } from './create-rollout'

/**
 * The scheduler's cron (ROLLOUT_SCHEDULE): redeploy every instance whose active deployment is older than
 * ROLLOUT_MIN_AGE_DAYS. Skipped while an earlier rollout still runs, so rollouts never pile up.
 */
export async function startScheduledRollout(o: Orchestrator): Promise<{ rolloutId?: string; skipped?: string }> {
  const running = await o.db.rollout.findFirst({
    where: { status: { in: ['running', 'paused'] }, createdById: null },
    select: { id: true },
  })
  if (running) return { skipped: `rollout ${running.id} is still running or paused` }
  const s = o.config.rolloutSchedule
  try {
    const rollout = await createRollout(o, systemActor('scheduler'), {
      selection: { olderThanDays: s.minAgeDays },
      concurrency: s.concurrency,
      failureBudgetPercent: s.failureBudgetPercent,
    })
    return { rolloutId: rollout.id }
  } catch (err) {
    if (err instanceof DomainError && err.code === 'invalid_input') return { skipped: 'no instance is due' }
    throw err
  }
}
