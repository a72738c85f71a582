import type { Metadata } from 'next'
import { OrganizationFilter } from '@/components/organization-filter'
import Link from 'next/link'
import { Plus, Search, Server } from 'lucide-react'
import { blueprintLabel } from '@/components/blueprint-meta'
import { formatDateTime } from '@/components/format'
import { PageHeader } from '@/components/page-header'
import { StatusBadge } from '@/components/status-badge'
import { Alert } from '@/components/ui/alert'
import { Button, buttonVariants } from '@/components/ui/button'
import { EmptyState } from '@/components/ui/empty-state'
import { Input } from '@/components/ui/input'
import { Label } from '@/components/ui/label'
import { Pagination } from '@/components/ui/pagination'
import { Select } from '@/components/ui/select'
import { Table, TBody, TD, TH, THead, TR } from '@/components/ui/table'
import { isStaff } from '@/lib/auth/policy'
import { BLUEPRINTS } from '@/lib/blueprints'
import { DomainError } from '@/lib/errors'
import { listInstances } from '@/lib/instances/list-instances'
import { INSTANCE_STATUSES, ZListInstancesQuery } from '@/lib/instances/schemas'
import { listOrganizations } from '@/lib/organizations/list-organizations'
import { pageContext, param, type SearchParams } from '../_lib/page-actor'

export const metadata: Metadata = { title: 'Instances' }

const PAGE_SIZE = 50

export default async function InstancesPage({ searchParams }: { searchParams: SearchParams }) {
  const { db, actor, hostingZone } = await pageContext()
  const sp = await searchParams
  const raw = {
    q: param(sp.q),
    organizationId: param(sp.organizationId),
    status: param(sp.status),
    blueprint: param(sp.blueprint),
    cursor: param(sp.cursor),
  }
  const parsed = ZListInstancesQuery.safeParse({ ...raw, limit: PAGE_SIZE })
  const query = parsed.success ? parsed.data : { limit: PAGE_SIZE }
  const filtered = !!(raw.q || raw.organizationId || raw.status || raw.blueprint)

  let problem: string | null = parsed.success ? null : 'Some filters were not valid and were ignored.'
  let page: Awaited<ReturnType<typeof listInstances>> = { items: [], nextCursor: null }
  try {
    page = await listInstances({ db, actor, hostingZone, query })
  } catch (err) {
    if (!(err instanceof DomainError && err.code === 'invalid_input')) throw err
    problem = 'The page link is no longer valid; showing the first page.'
    page = await listInstances({ db, actor, hostingZone, query: { ...query, cursor: undefined } })
  }
  const staff = isStaff(actor)
  const organizations = (await listOrganizations({ db, actor, query: { limit: 100 } })).items
  const showOrgFilter = staff || organizations.length > 1

  return (
    <>
      <PageHeader
        title="Instances"
        description={staff ? 'Every instance of every organization.' : 'The instances of your organization.'}
        actions={
          staff ? (
            <Link href="/instances/new" className={buttonVariants()}>
              <Plus aria-hidden /> New instance
            </Link>
          ) : null
        }
      />
      <form method="get" action="/instances" role="search" aria-label="Filter instances" className="mb-4 flex flex-wrap items-end gap-3">
        <div className="w-64 space-y-1">
          <Label htmlFor="q">Search</Label>
          <Input id="q" name="q" type="search" placeholder="Name or slug" defaultValue={raw.q} />
        </div>
        {showOrgFilter ? <OrganizationFilter organizations={organizations} value={raw.organizationId} /> : null}
        <div className="w-36 space-y-1">
          <Label htmlFor="status">Status</Label>
          <Select id="status" name="status" defaultValue={raw.status ?? ''}>
            <option value="">Any status</option>
            {INSTANCE_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </Select>
        </div>
        <div className="w-36 space-y-1">
          <Label htmlFor="blueprint">Blueprint</Label>
          <Select id="blueprint" name="blueprint" defaultValue={raw.blueprint ?? ''}>
            <option value="">Any blueprint</option>
            {Object.values(BLUEPRINTS).map((b) => (
              <option key={b.id} value={b.id}>
                {b.label}
              </option>
            ))}
          </Select>
        </div>
        <Button type="submit" variant="secondary">
          <Search aria-hidden /> Filter
        </Button>
        {filtered ? (
          <Link href="/instances" className={buttonVariants({ variant: 'ghost' })}>
            Clear filters
          </Link>
        ) : null}
      </form>

      {problem ? (
        <Alert variant="warning" className="mb-4">
          {problem}
        </Alert>
      ) : null}

      {page.items.length === 0 ? (
        filtered ? (
          <EmptyState
            icon={<Search aria-hidden />}
            title="No instances match these filters"
            action={
              <Link href="/instances" className={buttonVariants({ variant: 'secondary' })}>
                Clear filters
              </Link>
            }
          >
            Try another search term, or remove a filter.
          </EmptyState>
        ) : (
          <EmptyState
            icon={<Server aria-hidden />}
            title="No instances yet"
            action={
              staff ? (
                <Link href="/instances/new" className={buttonVariants()}>
                  <Plus aria-hidden /> Create instance
                </Link>
              ) : null
            }
          >
            {staff
              ? 'Each instance is one Open edX site for one organization, served at its own hostname.'
              : 'Your hosting team has not created an instance for your organization yet.'}
          </EmptyState>
        )
      ) : (
        <div className="space-y-3">
          <Table aria-label="Instances">
            <THead>
              <tr>
                <TH>Name</TH>
                <TH>Hostname</TH>
                <TH>Organization</TH>
                <TH>Blueprint</TH>
                <TH>Status</TH>
                <TH className="text-right">Updated</TH>
              </tr>
            </THead>
            <TBody>
              {page.items.map((i) => (
                <TR key={i.id}>
                  <TD>
                    <Link href={`/instances/${i.id}`} className="font-medium text-blue-700 hover:underline">
                      {i.name}
                    </Link>
                  </TD>
                  <TD className="font-mono text-xs text-neutral-700">{i.hostname}</TD>
                  <TD>
                    {staff || organizations.some((o) => o.id === i.organization.id) ? (
                      <Link href={`/organizations/${i.organization.id}`} className="text-neutral-800 hover:underline">
                        {i.organization.name}
                      </Link>
                    ) : (
                      i.organization.name
                    )}
                  </TD>
                  <TD>{blueprintLabel(i.blueprint)}</TD>
                  <TD>
                    <StatusBadge status={i.status} />
                  </TD>
                  <TD className="text-right whitespace-nowrap text-neutral-600 tabular-nums">{formatDateTime(i.updatedAt)}</TD>
                </TR>
              ))}
            </TBody>
          </Table>
          <Pagination basePath="/instances" params={raw} cursor={query.cursor} nextCursor={page.nextCursor} count={page.items.length} />
        </div>
      )}
    </>
  )
}
