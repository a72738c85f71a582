import { cn } from './cn'

export function EmptyState({
  icon,
  title,
  children,
  action,
  className,
}: {
  icon?: React.ReactNode
  title: string
  children?: React.ReactNode
  action?: React.ReactNode
  className?: string
}) {
  return (
    <div
      className={cn(
        'flex flex-col items-center rounded-lg border border-dashed border-neutral-300 bg-white px-6 py-12 text-center',
        className,
      )}
    >
      {icon ? <div className="mb-3 text-neutral-400 [&_svg]:size-8">{icon}</div> : null}
      <h2 className="text-sm font-semibold text-neutral-900">{title}</h2>
      {children ? <div className="mt-1 max-w-md text-sm text-neutral-600">{children}</div> : null}
      {action ? <div className="mt-4">{action}</div> : null}
    </div>
  )
}
