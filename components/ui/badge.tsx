import { cva, type VariantProps } from 'class-variance-authority'
import { cn } from './cn'

export const badgeVariants = cva(
  'inline-flex items-center gap-1 rounded px-1.5 py-0.5 text-xs font-medium ring-1 ring-inset whitespace-nowrap',
  {
    variants: {
      variant: {
        neutral: 'bg-neutral-100 text-neutral-700 ring-neutral-300',
        blue: 'bg-blue-50 text-blue-800 ring-blue-200',
        green: 'bg-emerald-50 text-emerald-800 ring-emerald-200',
        amber: 'bg-amber-50 text-amber-800 ring-amber-200',
        red: 'bg-red-50 text-red-800 ring-red-200',
        dark: 'bg-neutral-800 text-white ring-neutral-700',
      },
    },
    defaultVariants: { variant: 'neutral' },
  },
)

export function Badge({ className, variant, ...props }: React.ComponentProps<'span'> & VariantProps<typeof badgeVariants>) {
  return <span className={cn(badgeVariants({ variant }), className)} {...props} />
}
