import Link from 'next/link'
import { AlertTriangle } from 'lucide-react'
import { LiveUpdates } from '@/components/live-updates'
import { NavLink } from '@/components/nav-link'
import { SignOutButton } from '@/components/sign-out-button'
import { Badge } from '@/components/ui/badge'
import { isStaff } from '@/lib/auth/policy'
import { countFailingCertificates } from '@/lib/certificates/count-failing'
import { ownsAnyOrganization, pageContext } from './_lib/page-actor'

export default async function ConsoleLayout({ children }: { children: React.ReactNode }) {
  const { db, actor } = await pageContext()
  const staff = isStaff(actor)
  // One count per page, staff only: certificates failing or expiring unseen is what the hosting team must not miss.
  const failingCertificates = staff ? await countFailingCertificates(db) : 0
  return (
    <div className="flex min-h-screen flex-col">
      <header className="sticky top-0 z-30 border-b border-neutral-800 bg-neutral-900 text-white">
        <div className="mx-auto flex h-12 max-w-7xl items-center gap-4 px-4">
          <Link
            href="/instances"
            className="flex items-center gap-2 rounded font-semibold tracking-tight focus-visible:outline-2 focus-visible:outline-blue-400"
          >
            <span aria-hidden className="grid size-6 place-items-center rounded bg-white text-xs font-bold text-neutral-900">
              T
            </span>
            Tenon
          </Link>
          <nav aria-label="Main" className="flex items-center gap-0.5">
            <NavLink href="/instances">Instances</NavLink>
            <NavLink href="/organizations">Organizations</NavLink>
            {staff ? <NavLink href="/rollouts">Rollouts</NavLink> : null}
            {staff ? <NavLink href="/clusters">Clusters</NavLink> : null}
            {staff ? <NavLink href="/load-balancers">Load balancers</NavLink> : null}
            {staff ? <NavLink href="/certificates">Certificates</NavLink> : null}
            {staff || ownsAnyOrganization(actor) ? <NavLink href="/audit">Audit log</NavLink> : null}
            <NavLink href="/tokens">API tokens</NavLink>
          </nav>
          <div className="ml-auto flex items-center gap-3">
            <LiveUpdates />
            <span className="hidden h-4 w-px bg-neutral-700 sm:block" aria-hidden />
            <span className="text-xs text-neutral-300" data-testid="current-user">
              {actor.email}
            </span>
            {staff ? <Badge variant="dark">Staff</Badge> : null}
            <SignOutButton />
          </div>
        </div>
      </header>
      {failingCertificates > 0 ? (
        <div className="border-b border-amber-300 bg-amber-50 text-amber-900">
          <div className="mx-auto flex max-w-7xl items-center gap-2 px-4 py-2 text-sm">
            <AlertTriangle aria-hidden className="size-4 shrink-0" />
            <Link href="/certificates" className="font-medium underline-offset-2 hover:underline" data-testid="certificates-banner">
              {failingCertificates === 1 ? '1 certificate needs' : `${failingCertificates} certificates need`} attention
            </Link>
          </div>
        </div>
      ) : null}
      <main className="mx-auto w-full max-w-7xl flex-1 px-4 py-6">{children}</main>
    </div>
  )
}
