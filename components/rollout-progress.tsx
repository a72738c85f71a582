import type { TRollout } from '@/lib/rollouts/schemas'
import { ProgressBar } from './progress-bar'

const SEGMENTS = [
  { key: 'succeeded', label: 'Succeeded', className: 'bg-emerald-500' },
  { key: 'failed', label: 'Failed', className: 'bg-red-500' },
  { key: 'skipped', label: 'Skipped', className: 'bg-neutral-400' },
  { key: 'cancelled', label: 'Cancelled', className: 'bg-neutral-300' },
  { key: 'deploying', label: 'Deploying', className: 'bg-blue-400' },
] as const

export const COUNT_LABELS = [...SEGMENTS.map((s) => ({ key: s.key, label: s.label })), { key: 'pending', label: 'Pending' }] as const

export function finishedCount(r: TRollout): number {
  return r.counts.succeeded + r.counts.failed + r.counts.skipped + r.counts.cancelled
}

/** A rollout's progress: one bar (finished share, in outcome colours; deploying in blue) and "n of total". */
export function RolloutProgress({ rollout, compact = false }: { rollout: TRollout; compact?: boolean }) {
  const done = finishedCount(rollout)
  return (
    <div className={compact ? 'w-40 space-y-1' : 'space-y-1.5'}>
      <ProgressBar
        label="Rollout progress"
        total={rollout.total}
        done={done}
        segments={SEGMENTS.map((s) => ({ label: s.label, value: rollout.counts[s.key], className: s.className }))}
      />
      <p className="text-xs text-neutral-600 tabular-nums">
        {done} of {rollout.total} done
        {rollout.counts.failed ? <span className="text-red-700"> · {rollout.counts.failed} failed</span> : null}
        {rollout.counts.deploying ? <span> · {rollout.counts.deploying} deploying</span> : null}
      </p>
    </div>
  )
}

/** "Acme University · sumac.3 · deployed ≥ 30 days ago", or "every instance". */
export function describeSelection(selection: TRollout['selection'], organizationNames: Record<string, string>): string {
  const parts: string[] = []
  if (selection.organizationId) parts.push(organizationNames[selection.organizationId] ?? 'one organization')
  if (selection.release) parts.push(selection.release)
  if (selection.olderThanDays !== undefined) parts.push(`deployed ≥ ${selection.olderThanDays} days ago`)
  if (selection.instanceIds)
    parts.push(selection.instanceIds.length === 1 ? '1 chosen instance' : `${selection.instanceIds.length} chosen instances`)
  return parts.length ? parts.join(' · ') : 'every instance'
}
