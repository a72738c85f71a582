import type { DeploymentStatus, RolloutItemStatus, RolloutStatus } from '@/lib/db/generated/enums'

export interface PlanRolloutInput {
  status: RolloutStatus
  concurrency: number
  failureBudgetPercent: number
  total: number
  items: { instanceId: string; position: number; status: RolloutItemStatus }[]
}

export type RolloutPlan = {
  /** items to start now, in order */
  start: string[]
  /** set when the rollout must pause (its failure budget is spent) */
  pause?: string
  complete: boolean
}

/** More than `percent`% of all selected instances failed. */
export function budgetSpent(failed: number, total: number, percent: number): boolean {
  return failed * 100 > percent * total
}

/**
 * What a rollout does next (pure): pause when the failure budget is spent, start pending instances up to
 * the concurrency limit, complete when nothing is pending or deploying. Paused and cancelled rollouts start
 * nothing; their deploying instances still finish.
 */
export function planRollout(r: PlanRolloutInput): RolloutPlan {
  const count = (s: RolloutItemStatus) => r.items.filter((i) => i.status === s).length
  const deploying = count('deploying')
  const pending = r.items.filter((i) => i.status === 'pending').sort((a, b) => a.position - b.position)
  if (r.status !== 'running') return { start: [], complete: false }
  const failed = count('failed')
  if (budgetSpent(failed, r.total, r.failureBudgetPercent)) {
    return {
      start: [],
      complete: false,
      pause: `${failed} of ${r.total} instances failed, more than the failure budget of ${r.failureBudgetPercent}%`,
    }
  }
  if (!pending.length && !deploying) return { start: [], complete: true }
  const room = Math.max(0, r.concurrency - deploying)
  return { start: pending.slice(0, room).map((i) => i.instanceId), complete: false }
}

/** A deploying item's outcome from its deployment's status; undefined while it is still in progress. */
export function itemOutcome(status: DeploymentStatus): 'succeeded' | 'failed' | undefined {
  if (status === 'active' || status === 'superseded' || status === 'terminated') return 'succeeded'
  if (status === 'failed' || status === 'cancelled') return 'failed'
  return undefined
}
