import type { Metadata } from 'next'
import Link from 'next/link'
import { notFound } from 'next/navigation'
import { Layers } from 'lucide-react'
import { formatDateTime } from '@/components/format'
import { NewRolloutDialog } from '@/components/new-rollout-dialog'
import { PageHeader } from '@/components/page-header'
import { describeSelection, RolloutProgress } from '@/components/rollout-progress'
import { StatusBadge } from '@/components/status-badge'
import { Alert } from '@/components/ui/alert'
import { EmptyState } from '@/components/ui/empty-state'
import { Pagination } from '@/components/ui/pagination'
import { Table, TBody, TD, TH, THead, TR } from '@/components/ui/table'
import { isStaff } from '@/lib/auth/policy'
import { OPENEDX_RELEASES } from '@/lib/blueprints/openedx'
import { DomainError } from '@/lib/errors'
import { listOrganizations } from '@/lib/organizations/list-organizations'
import { listRollouts } from '@/lib/rollouts/get-rollout'
import { pageContext, param, type SearchParams } from '../_lib/page-actor'

export const metadata: Metadata = { title: 'Rollouts' }

const PAGE_SIZE = 25

/** Rolling redeploys (staff only; for anyone else the page does not exist). */
export default async function RolloutsPage({ searchParams }: { searchParams: SearchParams }) {
  const { db, actor } = await pageContext()
  if (!isStaff(actor)) notFound()
  const cursor = param((await searchParams).cursor)

  let problem: string | null = null
  let page: Awaited<ReturnType<typeof listRollouts>>
  try {
    page = await listRollouts(db, actor, { limit: PAGE_SIZE, cursor })
  } catch (err) {
    if (!(err instanceof DomainError && err.code === 'invalid_input')) throw err
    problem = 'The page link is no longer valid; showing the first page.'
    page = await listRollouts(db, actor, { limit: PAGE_SIZE })
  }
  const organizations = (await listOrganizations({ db, actor, query: { limit: 100 } })).items
  const organizationNames = Object.fromEntries(organizations.map((o) => [o.id, o.name]))

  return (
    <>
      <PageHeader
        title="Rollouts"
        description="Rolling redeploys over many instances: a few at a time, paused when too many fail."
        actions={<NewRolloutDialog organizations={organizations} releases={OPENEDX_RELEASES} />}
      />
      {problem ? (
        <Alert variant="warning" className="mb-4">
          {problem}
        </Alert>
      ) : null}
      {page.items.length === 0 ? (
        <EmptyState icon={<Layers aria-hidden />} title="No rollouts yet">
          A rollout redeploys every instance a selection matches (an organization, a release, deployments older than some days), a few at a
          time. Start one to apply a new release or a platform change across the fleet.
        </EmptyState>
      ) : (
        <div className="space-y-3">
          <Table aria-label="Rollouts">
            <THead>
              <tr>
                <TH>Started</TH>
                <TH>Selection</TH>
                <TH>Status</TH>
                <TH>Progress</TH>
                <TH>Concurrency</TH>
                <TH>Started by</TH>
              </tr>
            </THead>
            <TBody>
              {page.items.map((r) => (
                <TR key={r.id}>
                  <TD className="whitespace-nowrap">
                    <Link href={`/rollouts/${r.id}`} className="font-medium text-blue-700 hover:underline">
                      {formatDateTime(r.createdAt)}
                    </Link>
                  </TD>
                  <TD>{describeSelection(r.selection, organizationNames)}</TD>
                  <TD>
                    <StatusBadge status={r.status} />
                    {r.pausedReason ? <p className="mt-1 text-xs text-amber-800">{r.pausedReason}</p> : null}
                  </TD>
                  <TD>
                    <RolloutProgress rollout={r} compact />
                  </TD>
                  <TD className="tabular-nums">
                    {r.concurrency} · budget {r.failureBudgetPercent}%
                  </TD>
                  <TD className="text-neutral-700">{r.createdBy}</TD>
                </TR>
              ))}
            </TBody>
          </Table>
          <Pagination basePath="/rollouts" params={{}} cursor={cursor} nextCursor={page.nextCursor} count={page.items.length} />
        </div>
      )}
    </>
  )
}
