import { cn } from './cn'
import { controlClass } from './input'

export function Textarea({ className, ...props }: React.ComponentProps<'textarea'>) {
  return <textarea className={cn(controlClass, 'min-h-24 py-2 font-mono text-xs leading-relaxed', className)} {...props} />
}
