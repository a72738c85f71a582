import { cn } from './cn'

export const controlClass =
  'block w-full rounded-md border border-neutral-300 bg-white px-2.5 text-sm text-neutral-900 shadow-xs placeholder:text-neutral-400 focus-visible:border-blue-600 focus-visible:outline-2 focus-visible:outline-offset-0 focus-visible:outline-blue-600/30 disabled:cursor-not-allowed disabled:bg-neutral-100 disabled:text-neutral-500 aria-invalid:border-red-500 aria-invalid:focus-visible:outline-red-500/30'

export function Input({ className, ...props }: React.ComponentProps<'input'>) {
  return <input className={cn(controlClass, 'h-9', className)} {...props} />
}
