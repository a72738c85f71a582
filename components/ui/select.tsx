import { ChevronDown } from 'lucide-react'
import { cn } from './cn'
import { controlClass } from './input'

/**
 * A styled native <select>: it works in plain GET forms without JavaScript, is fully keyboard and
 * screen-reader accessible, and uses the platform's own picker on touch devices.
 */
export function Select({ className, children, ...props }: React.ComponentProps<'select'>) {
  return (
    <div className={cn('relative', className)}>
      <select className={cn(controlClass, 'h-9 appearance-none pr-8')} {...props}>
        {children}
      </select>
      <ChevronDown aria-hidden className="pointer-events-none absolute top-1/2 right-2.5 size-4 -translate-y-1/2 text-neutral-500" />
    </div>
  )
}
