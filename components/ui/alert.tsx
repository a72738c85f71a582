import { cva, type VariantProps } from 'class-variance-authority'
import { AlertTriangle, CircleAlert, Info, CircleCheck } from 'lucide-react'
import { cn } from './cn'

const alertVariants = cva('flex gap-2.5 rounded-md border px-3 py-2.5 text-sm', {
  variants: {
    variant: {
      info: 'border-blue-200 bg-blue-50 text-blue-900',
      warning: 'border-amber-300 bg-amber-50 text-amber-900',
      error: 'border-red-200 bg-red-50 text-red-900',
      success: 'border-emerald-200 bg-emerald-50 text-emerald-900',
    },
  },
  defaultVariants: { variant: 'info' },
})

const ICONS = { info: Info, warning: AlertTriangle, error: CircleAlert, success: CircleCheck } as const

/** A callout. Errors and warnings are announced to screen readers. */
export function Alert({
  className,
  variant,
  title,
  children,
  ...props
}: Omit<React.ComponentProps<'div'>, 'title'> & VariantProps<typeof alertVariants> & { title?: React.ReactNode }) {
  const Icon = ICONS[variant ?? 'info']
  return (
    <div
      role={variant === 'error' || variant === 'warning' ? 'alert' : 'status'}
      className={cn(alertVariants({ variant }), className)}
      {...props}
    >
      <Icon aria-hidden className="mt-0.5 size-4 shrink-0" />
      <div className="min-w-0 flex-1 space-y-1">
        {title ? <p className="font-semibold">{title}</p> : null}
        {children ? <div className="[&_a]:underline">{children}</div> : null}
      </div>
    </div>
  )
}
