'use client'

import Link from 'next/link'
import { usePathname } from 'next/navigation'
import { cn } from './ui/cn'

export function NavLink({ href, children }: { href: string; children: React.ReactNode }) {
  const pathname = usePathname()
  const active = pathname === href || pathname.startsWith(`${href}/`)
  return (
    <Link
      href={href}
      aria-current={active ? 'page' : undefined}
      className={cn(
        'rounded px-2.5 py-1.5 text-sm text-neutral-300 hover:bg-neutral-800 hover:text-white focus-visible:outline-2 focus-visible:outline-blue-400',
        active && 'bg-neutral-800 text-white',
      )}
    >
      {children}
    </Link>
  )
}
