import type { Metadata } from 'next'
import Link from 'next/link'
import { Building2, Search } from 'lucide-react'
import { formatDate } from '@/components/format'
import { NewOrganizationDialog } from '@/components/new-organization-dialog'
import { PageHeader } from '@/components/page-header'
import { Alert } from '@/components/ui/alert'
import { Button, buttonVariants } from '@/components/ui/button'
import { EmptyState } from '@/components/ui/empty-state'
import { Input } from '@/components/ui/input'
import { Label } from '@/components/ui/label'
import { Pagination } from '@/components/ui/pagination'
import { Table, TBody, TD, TH, THead, TR } from '@/components/ui/table'
import { isStaff } from '@/lib/auth/policy'
import { DomainError } from '@/lib/errors'
import { listOrganizations } from '@/lib/organizations/list-organizations'
import { ZListQuery } from '@/lib/organizations/schemas'
import { pageContext, param, type SearchParams } from '../_lib/page-actor'

export const metadata: Metadata = { title: 'Organizations' }

export default async function OrganizationsPage({ searchParams }: { searchParams: SearchParams }) {
  const { db, actor } = await pageContext()
  const sp = await searchParams
  const raw = { q: param(sp.q), cursor: param(sp.cursor) }
  const parsed = ZListQuery.safeParse({ ...raw, limit: 50 })
  const query = parsed.success ? parsed.data : { limit: 50 }
  let problem: string | null = null
  let page: Awaited<ReturnType<typeof listOrganizations>>
  try {
    page = await listOrganizations({ db, actor, query })
  } catch (err) {
    if (!(err instanceof DomainError && err.code === 'invalid_input')) throw err
    problem = 'The page link is no longer valid; showing the first page.'
    page = await listOrganizations({ db, actor, query: { ...query, cursor: undefined } })
  }
  const staff = isStaff(actor)

  return (
    <>
      <PageHeader
        title="Organizations"
        description={staff ? 'The clients of the hosting service.' : 'The organizations you belong to.'}
        actions={staff ? <NewOrganizationDialog /> : null}
      />
      <form method="get" action="/organizations" role="search" aria-label="Search organizations" className="mb-4 flex items-end gap-3">
        <div className="w-64 space-y-1">
          <Label htmlFor="q">Search</Label>
          <Input id="q" name="q" type="search" placeholder="Name or slug" defaultValue={raw.q} />
        </div>
        <Button type="submit" variant="secondary">
          <Search aria-hidden /> Search
        </Button>
        {raw.q ? (
          <Link href="/organizations" className={buttonVariants({ variant: 'ghost' })}>
            Clear
          </Link>
        ) : null}
      </form>
      {problem ? (
        <Alert variant="warning" className="mb-4">
          {problem}
        </Alert>
      ) : null}
      {page.items.length === 0 ? (
        <EmptyState icon={<Building2 aria-hidden />} title={raw.q ? 'No organization matches this search' : 'No organizations yet'}>
          {raw.q ? 'Try another name.' : staff ? 'Create one for each client; then invite its people and create its instances.' : null}
        </EmptyState>
      ) : (
        <div className="space-y-3">
          <Table aria-label="Organizations">
            <THead>
              <tr>
                <TH>Name</TH>
                <TH>Slug</TH>
                <TH className="text-right">Instances</TH>
                <TH className="text-right">Members</TH>
                <TH className="text-right">Created</TH>
              </tr>
            </THead>
            <TBody>
              {page.items.map((o) => (
                <TR key={o.id}>
                  <TD>
                    <Link href={`/organizations/${o.id}`} className="font-medium text-blue-700 hover:underline">
                      {o.name}
                    </Link>
                  </TD>
                  <TD className="font-mono text-xs">{o.slug}</TD>
                  <TD className="text-right tabular-nums">
                    <Link href={`/instances?organizationId=${o.id}`} className="hover:underline">
                      {o.instanceCount}
                    </Link>
                  </TD>
                  <TD className="text-right tabular-nums">{o.memberCount}</TD>
                  <TD className="text-right text-neutral-600 tabular-nums">{formatDate(o.createdAt)}</TD>
                </TR>
              ))}
            </TBody>
          </Table>
          <Pagination basePath="/organizations" params={raw} cursor={query.cursor} nextCursor={page.nextCursor} count={page.items.length} />
        </div>
      )}
    </>
  )
}
