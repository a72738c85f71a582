import Link from 'next/link'
import { ChevronLeft, ChevronRight } from 'lucide-react'
import { buttonVariants } from './button'

/** Keyset pagination: a link back to the first page and one to the next, keeping the other query parameters. */
export function Pagination({
  basePath,
  params,
  cursor,
  nextCursor,
  count,
}: {
  basePath: string
  params: Record<string, string | undefined>
  cursor: string | undefined
  nextCursor: string | null
  count: number
}) {
  const href = (c: string | null) => {
    const q = new URLSearchParams()
    for (const [k, v] of Object.entries(params)) if (v && k !== 'cursor') q.set(k, v)
    if (c) q.set('cursor', c)
    const s = q.toString()
    return s ? `${basePath}?${s}` : basePath
  }
  if (!cursor && !nextCursor) return null
  return (
    <nav aria-label="Pagination" className="flex items-center justify-between gap-3 text-sm text-neutral-600">
      <span>
        {count} {count === 1 ? 'row' : 'rows'} on this page
      </span>
      <div className="flex gap-2">
        {cursor ? (
          <Link className={buttonVariants({ variant: 'secondary', size: 'sm' })} href={href(null)}>
            <ChevronLeft aria-hidden /> First page
          </Link>
        ) : null}
        {nextCursor ? (
          <Link className={buttonVariants({ variant: 'secondary', size: 'sm' })} href={href(nextCursor)}>
            Next page <ChevronRight aria-hidden />
          </Link>
        ) : null}
      </div>
    </nav>
  )
}
