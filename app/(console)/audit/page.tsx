import type { Metadata } from 'next'
import { OrganizationFilter } from '@/components/organization-filter'
import Link from 'next/link'
import { History, Search } from 'lucide-react'
import { AuditTable } from '@/components/audit-table'
import { organizationNames } from '@/components/organization-names'
import { PageHeader } from '@/components/page-header'
import { Alert } from '@/components/ui/alert'
import { Button, buttonVariants } from '@/components/ui/button'
import { EmptyState } from '@/components/ui/empty-state'
import { Input } from '@/components/ui/input'
import { Label } from '@/components/ui/label'
import { Pagination } from '@/components/ui/pagination'
import { Select } from '@/components/ui/select'
import { listAudit, ZListAuditQuery } from '@/lib/audit/list-audit'
import { isStaff } from '@/lib/auth/policy'
import { DomainError } from '@/lib/errors'
import { listOrganizations } from '@/lib/organizations/list-organizations'
import { ownsAnyOrganization, pageContext, param, type SearchParams } from '../_lib/page-actor'

export const metadata: Metadata = { title: 'Audit log' }

const TARGET_TYPES = ['instance', 'organization', 'invitation', 'user', 'api_token']

export default async function AuditPage({ searchParams }: { searchParams: SearchParams }) {
  const { db, actor } = await pageContext()
  const staff = isStaff(actor)
  if (!staff && !ownsAnyOrganization(actor)) {
    return (
      <>
        <PageHeader title="Audit log" />
        <Alert variant="warning" title="Not allowed">
          Only hosting staff and organization owners can read the audit log. Ask an owner of your organization if you need to know who
          changed what.
        </Alert>
      </>
    )
  }
  const sp = await searchParams
  const raw = {
    action: param(sp.action),
    targetType: param(sp.targetType),
    targetId: param(sp.targetId),
    actor: param(sp.actor),
    organizationId: param(sp.organizationId),
    cursor: param(sp.cursor),
  }
  const parsed = ZListAuditQuery.safeParse({ ...raw, limit: 50 })
  const query = parsed.success ? parsed.data : { limit: 50 }
  const filtered = !!(raw.action || raw.targetType || raw.targetId || raw.actor || raw.organizationId)
  let problem: string | null = parsed.success ? null : 'Some filters were not valid and were ignored.'
  let page: Awaited<ReturnType<typeof listAudit>>
  try {
    page = await listAudit({ db, actor, query })
  } catch (err) {
    if (!(err instanceof DomainError && err.code === 'invalid_input')) throw err
    problem = 'The page link is no longer valid; showing the first page.'
    page = await listAudit({ db, actor, query: { ...query, cursor: undefined } })
  }
  const [names, organizations] = await Promise.all([
    organizationNames(
      db,
      actor,
      page.items.map((e) => e.organizationId),
    ),
    staff ? listOrganizations({ db, actor, query: { limit: 100 } }).then((p) => p.items) : Promise.resolve([]),
  ])

  return (
    <>
      <PageHeader title="Audit log" description={staff ? 'Every change, by whom and when.' : 'Changes to the organizations you own.'} />
      <form method="get" action="/audit" role="search" aria-label="Filter the audit log" className="mb-4 flex flex-wrap items-end gap-3">
        <div className="w-52 space-y-1">
          <Label htmlFor="action">Action</Label>
          <Input id="action" name="action" placeholder="e.g. instance." defaultValue={raw.action} />
        </div>
        <div className="w-40 space-y-1">
          <Label htmlFor="targetType">Target type</Label>
          <Select id="targetType" name="targetType" defaultValue={raw.targetType ?? ''}>
            <option value="">Any target</option>
            {TARGET_TYPES.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </Select>
        </div>
        <div className="w-52 space-y-1">
          <Label htmlFor="actor">Actor</Label>
          <Input id="actor" name="actor" placeholder="Email contains…" defaultValue={raw.actor} />
        </div>
        {staff ? <OrganizationFilter organizations={organizations} value={raw.organizationId} className="w-52 space-y-1" /> : null}
        {raw.targetId ? <input type="hidden" name="targetId" value={raw.targetId} /> : null}
        <Button type="submit" variant="secondary">
          <Search aria-hidden /> Filter
        </Button>
        {filtered ? (
          <Link href="/audit" className={buttonVariants({ variant: 'ghost' })}>
            Clear filters
          </Link>
        ) : null}
      </form>
      {raw.targetId ? (
        <p className="mb-3 text-sm text-neutral-600">
          Showing the history of {raw.targetType ?? 'target'} <span className="font-mono">{raw.targetId}</span>.
        </p>
      ) : null}
      {problem ? (
        <Alert variant="warning" className="mb-4">
          {problem}
        </Alert>
      ) : null}
      {page.items.length === 0 ? (
        <EmptyState
          icon={<History aria-hidden />}
          title={filtered ? 'No entries match these filters' : 'Nothing recorded yet'}
          action={
            filtered ? (
              <Link href="/audit" className={buttonVariants({ variant: 'secondary' })}>
                Clear filters
              </Link>
            ) : null
          }
        />
      ) : (
        <div className="space-y-3">
          <AuditTable entries={page.items} organizationNames={names} />
          <Pagination basePath="/audit" params={raw} cursor={query.cursor} nextCursor={page.nextCursor} count={page.items.length} />
        </div>
      )}
    </>
  )
}
