import { describe, expect, it } from 'vitest'
import { DeploymentStatus, type RolloutItemStatus, type RolloutStatus } from '@/lib/db/generated/enums'
import { budgetSpent, itemOutcome, planRollout, type PlanRolloutInput } from '@/lib/rollouts/plan-rollout'

/** A rollout over `statuses.length` instances i0, i1, … (position = index). */
function rollout(statuses: RolloutItemStatus[], opts: Partial<Omit<PlanRolloutInput, 'items'>> = {}): PlanRolloutInput {
  return {
    status: 'running',
    concurrency: 5,
    failureBudgetPercent: 10,
    total: statuses.length,
    items: statuses.map((status, position) => ({ instanceId: `i${position}`, position, status })),
    ...opts,
  }
}

const times = (n: number, status: RolloutItemStatus): RolloutItemStatus[] => Array.from({ length: n }, () => status)

describe('budgetSpent: "more than X%" of all selected instances', () => {
  it.each([
    // failed, total, percent, spent
    [5, 50, 10, false], // exactly 10%: not more
    [6, 50, 10, true],
    [1, 10, 10, false],
    [2, 10, 10, true],
    [1, 3, 10, true], // 33% > 10%
    [0, 3, 10, false],
    [0, 50, 0, false], // a zero budget pauses at the first failure
    [1, 50, 0, true],
    [50, 50, 100, false], // a full budget never pauses
    [49, 50, 99, false], // 98%
    [50, 50, 99, true],
    [1, 1, 0, true],
  ])('%i failed of %i with a budget of %i%% → %s', (failed, total, percent, spent) => {
    expect(budgetSpent(failed, total, percent)).toBe(spent)
  })
})

describe('planRollout', () => {
  it('starts the first instances in position order up to the concurrency', () => {
    expect(planRollout(rollout(times(50, 'pending'), { concurrency: 5 }))).toEqual({
      start: ['i0', 'i1', 'i2', 'i3', 'i4'],
      complete: false,
    })
    const shuffled = rollout(times(4, 'pending'), { concurrency: 2 })
    shuffled.items.reverse()
    expect(planRollout(shuffled).start).toEqual(['i0', 'i1'])
  })

  it('fills only the room left by deployments in flight', () => {
    const statuses: RolloutItemStatus[] = ['succeeded', 'deploying', 'deploying', 'deploying', 'pending', 'pending', 'pending', 'pending']
    expect(planRollout(rollout(statuses, { concurrency: 5 })).start).toEqual(['i4', 'i5'])
    expect(planRollout(rollout(statuses, { concurrency: 4 })).start).toEqual(['i4'])
    expect(planRollout(rollout(statuses, { concurrency: 3 })).start).toEqual([])
    // more in flight than the limit (concurrency lowered meanwhile): nothing new, never a negative count
    expect(planRollout(rollout(statuses, { concurrency: 1 }))).toEqual({ start: [], complete: false })
  })

  it('starts what is left when fewer are pending than there is room for', () => {
    expect(planRollout(rollout(['succeeded', 'succeeded', 'pending'], { concurrency: 10 })).start).toEqual(['i2'])
  })

  it('completes when nothing is pending or in flight; skipped and cancelled items do not hold it', () => {
    expect(planRollout(rollout(['succeeded', 'skipped', 'cancelled', 'succeeded']))).toEqual({ start: [], complete: true })
    expect(planRollout(rollout(['succeeded', 'deploying']))).toEqual({ start: [], complete: false })
  })

  it('completes with failures within the budget', () => {
    const statuses: RolloutItemStatus[] = [...times(45, 'succeeded'), ...times(5, 'failed')]
    expect(planRollout(rollout(statuses, { failureBudgetPercent: 10 }))).toEqual({ start: [], complete: true })
  })

  it('pauses, starting nothing, once more than the budget failed, with a reason that says so', () => {
    const statuses: RolloutItemStatus[] = [...times(6, 'failed'), ...times(4, 'deploying'), ...times(40, 'pending')]
    expect(planRollout(rollout(statuses, { concurrency: 10, failureBudgetPercent: 10 }))).toEqual({
      start: [],
      complete: false,
      pause: '6 of 50 instances failed, more than the failure budget of 10%',
    })
    // one failure fewer: exactly 10%, it goes on
    const atBudget: RolloutItemStatus[] = [...times(5, 'failed'), ...times(5, 'deploying'), ...times(40, 'pending')]
    expect(planRollout(rollout(atBudget, { concurrency: 10, failureBudgetPercent: 10 }))).toEqual({
      start: ['i10', 'i11', 'i12', 'i13', 'i14'],
      complete: false,
    })
  })

  it('counts the budget against all selected instances, not the ones tried so far', () => {
    // 2 of the first 3 failed (67% of those tried) but only 4% of the 50 selected
    const statuses: RolloutItemStatus[] = ['failed', 'failed', 'succeeded', ...times(47, 'pending')]
    expect(planRollout(rollout(statuses, { concurrency: 2, failureBudgetPercent: 10 }))).toEqual({ start: ['i3', 'i4'], complete: false })
  })

  it('a spent budget pauses even when nothing is left to do (it does not complete silently)', () => {
    expect(planRollout(rollout(['failed', 'succeeded'], { failureBudgetPercent: 10 }))).toMatchObject({ complete: false, start: [] })
    expect(planRollout(rollout(['failed', 'succeeded'], { failureBudgetPercent: 10 })).pause).toMatch(/^1 of 2 instances failed/)
  })

  it.each(['paused', 'cancelled', 'completed'] satisfies RolloutStatus[])(
    'a %s rollout starts nothing and neither pauses nor completes',
    (status) => {
      const cases: RolloutItemStatus[][] = [times(5, 'pending'), [...times(5, 'failed'), 'pending'], times(3, 'succeeded')]
      for (const statuses of cases) {
        expect(planRollout(rollout(statuses, { status }))).toEqual({ start: [], complete: false })
      }
    },
  )

  it('skipped items count neither as failed nor as pending', () => {
    const statuses: RolloutItemStatus[] = [...times(10, 'skipped'), 'pending']
    expect(planRollout(rollout(statuses, { failureBudgetPercent: 0 }))).toEqual({ start: ['i10'], complete: false })
  })
})

describe('itemOutcome', () => {
  const EXPECTED: Record<DeploymentStatus, 'succeeded' | 'failed' | undefined> = {
    building: undefined,
    activating: undefined,
    active: 'succeeded',
    // replaced or removed later: it did go live
    superseded: 'succeeded',
    terminated: 'succeeded',
    failed: 'failed',
    cancelled: 'failed',
  }
  it.each(Object.values(DeploymentStatus))('a %s deployment', (status) => {
    expect(itemOutcome(status)).toBe(EXPECTED[status])
  })
})
