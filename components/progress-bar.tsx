import { cn } from './ui/cn'

export interface ProgressSegment {
  label: string
  value: number
  className: string
}

/**
 * A horizontal bar split into coloured segments (succeeded, failed, …) out of `total`, exposed to assistive
 * technology as one progressbar whose value is the finished share.
 */
export function ProgressBar({
  segments,
  total,
  done,
  label,
  className,
}: {
  segments: ProgressSegment[]
  total: number
  done: number
  label: string
  className?: string
}) {
  const pct = (n: number) => (total > 0 ? (n * 100) / total : 0)
  return (
    <div
      role="progressbar"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={total}
      aria-valuenow={done}
      aria-valuetext={`${done} of ${total} done`}
      className={cn('flex h-2.5 w-full overflow-hidden rounded-full bg-neutral-200', className)}
    >
      {segments
        .filter((s) => s.value > 0)
        .map((s) => (
          <div key={s.label} title={`${s.label}: ${s.value}`} className={cn('h-full', s.className)} style={{ width: `${pct(s.value)}%` }} />
        ))}
    </div>
  )
}
