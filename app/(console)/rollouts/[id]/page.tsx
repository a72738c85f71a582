import type { Metadata } from 'next'
import Link from 'next/link'
import { notFound } from 'next/navigation'
import { formatDateTime } from '@/components/format'
import { PageHeader } from '@/components/page-header'
import { RolloutControls } from '@/components/rollout-controls'
import { COUNT_LABELS, describeSelection, RolloutProgress } from '@/components/rollout-progress'
import { StatusBadge } from '@/components/status-badge'
import { Alert } from '@/components/ui/alert'
import { buttonVariants } from '@/components/ui/button'
import { Card, CardContent } from '@/components/ui/card'
import { Table, TBody, TD, TH, THead, TR } from '@/components/ui/table'
import { isStaff } from '@/lib/auth/policy'
import { listOrganizations } from '@/lib/organizations/list-organizations'
import { getRollout, listRolloutItems } from '@/lib/rollouts/get-rollout'
import { orNotFound, pageContext, param, type SearchParams } from '../../_lib/page-actor'

export const metadata: Metadata = { title: 'Rollout' }

const PAGE_SIZE = 100

/** One rollout: progress, why it paused, each instance's outcome, and pause/resume/cancel. Live via the layout's event stream. */
export default async function RolloutPage({ params, searchParams }: { params: Promise<{ id: string }>; searchParams: SearchParams }) {
  const { id } = await params
  const { db, actor } = await pageContext()
  if (!isStaff(actor)) notFound()
  const after = Number(param((await searchParams).after))
  const from = Number.isInteger(after) && after >= 0 ? after : undefined
  const rollout = await orNotFound(getRollout(db, actor, id))
  const [items, organizations] = await Promise.all([
    listRolloutItems(db, actor, rollout.id, { limit: PAGE_SIZE, after: from }),
    listOrganizations({ db, actor, query: { limit: 100 } }),
  ])
  const organizationNames = Object.fromEntries(organizations.items.map((o) => [o.id, o.name]))

  return (
    <>
      <nav aria-label="Breadcrumb" className="mb-2 text-sm text-neutral-500">
        <Link href="/rollouts" className="hover:underline">
          Rollouts
        </Link>{' '}
        / <span className="text-neutral-700">{formatDateTime(rollout.createdAt)}</span>
      </nav>
      <PageHeader
        title={
          <span className="inline-flex items-center gap-2">
            Rollout of {describeSelection(rollout.selection, organizationNames)} <StatusBadge status={rollout.status} />
          </span>
        }
        description={
          <>
            Started {formatDateTime(rollout.createdAt)} by {rollout.createdBy}
            {rollout.finishedAt ? <> · finished {formatDateTime(rollout.finishedAt)}</> : null} · {rollout.concurrency} at a time · failure
            budget {rollout.failureBudgetPercent}%
          </>
        }
        actions={<RolloutControls id={rollout.id} status={rollout.status} />}
      />
      {rollout.status === 'paused' ? (
        <Alert variant="warning" title="Paused" className="mb-4" data-testid="paused-reason">
          {rollout.pausedReason ?? 'No reason was recorded.'} Nothing new starts until it is resumed; deployments already started finish.
        </Alert>
      ) : null}

      <Card className="mb-5">
        <CardContent className="space-y-3">
          <RolloutProgress rollout={rollout} />
          <dl className="flex flex-wrap gap-x-6 gap-y-1 text-sm">
            {COUNT_LABELS.map((c) => (
              <div key={c.key} className="flex gap-1.5">
                <dt className="text-neutral-500">{c.label}</dt>
                <dd className="font-medium tabular-nums">{rollout.counts[c.key]}</dd>
              </div>
            ))}
            <div className="flex gap-1.5">
              <dt className="text-neutral-500">Total</dt>
              <dd className="font-medium tabular-nums">{rollout.total}</dd>
            </div>
          </dl>
        </CardContent>
      </Card>

      <section className="space-y-3" aria-labelledby="items-heading">
        <h2 id="items-heading" className="text-sm font-semibold">
          Instances
        </h2>
        <Table aria-label="Rollout instances">
          <THead>
            <tr>
              <TH className="text-right">#</TH>
              <TH>Instance</TH>
              <TH>Outcome</TH>
              <TH>Started</TH>
              <TH>Finished</TH>
              <TH>Problem</TH>
            </tr>
          </THead>
          <TBody>
            {items.items.map((item) => (
              <TR key={item.instance.id}>
                <TD className="text-right text-neutral-500 tabular-nums">{item.position + 1}</TD>
                <TD>
                  <Link href={`/instances/${item.instance.id}`} className="font-medium text-blue-700 hover:underline">
                    {item.instance.name}
                  </Link>{' '}
                  <span className="font-mono text-xs text-neutral-500">{item.instance.slug}</span>
                </TD>
                <TD>
                  <StatusBadge status={item.status} />
                </TD>
                <TD className="whitespace-nowrap text-neutral-600 tabular-nums">{formatDateTime(item.startedAt)}</TD>
                <TD className="whitespace-nowrap text-neutral-600 tabular-nums">{formatDateTime(item.finishedAt)}</TD>
                <TD className="text-xs text-red-800">{item.error ?? <span className="text-neutral-400">—</span>}</TD>
              </TR>
            ))}
          </TBody>
        </Table>
        {from !== undefined || items.nextAfter !== null ? (
          <nav aria-label="Pagination" className="flex justify-end gap-2">
            {from !== undefined ? (
              <Link href={`/rollouts/${rollout.id}`} className={buttonVariants({ variant: 'secondary', size: 'sm' })}>
                First page
              </Link>
            ) : null}
            {items.nextAfter !== null ? (
              <Link
                href={`/rollouts/${rollout.id}?after=${items.nextAfter}`}
                className={buttonVariants({ variant: 'secondary', size: 'sm' })}
              >
                Next page
              </Link>
            ) : null}
          </nav>
        ) : null}
      </section>
    </>
  )
}
