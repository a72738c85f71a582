import type { Metadata } from 'next'
import { notFound } from 'next/navigation'
import { Network } from 'lucide-react'
import { formatDateTime } from '@/components/format'
import { PageHeader } from '@/components/page-header'
import { relativeTime } from '@/components/relative-time'
import { StatusBadge } from '@/components/status-badge'
import { Alert } from '@/components/ui/alert'
import { Card, CardContent } from '@/components/ui/card'
import { EmptyState } from '@/components/ui/empty-state'
import { Table, TBody, TD, TH, THead, TR } from '@/components/ui/table'
import type { UserActor } from '@/lib/auth/actor'
import { isStaff } from '@/lib/auth/policy'
import { getConfig } from '@/lib/config'
import { getRouter } from '@/lib/routing/get-router'
import { listLoadBalancers } from '@/lib/routing/list-load-balancers'
import type { TLoadBalancers } from '@/lib/routing/schemas'
import { ProvisionerError } from '@/provisioners/types'
import { pageContext } from '../_lib/page-actor'
import { AutoRefresh } from './auto-refresh'

export const metadata: Metadata = { title: 'Load balancers' }

const REFRESH_SECONDS = 5

type LoadBalancerNode = TLoadBalancers['nodes'][number]

const METHOD_LABEL: Record<LoadBalancerNode['method'], string> = { runtime: 'runtime API', reload: 'reload', none: '—' }

const msFormat = new Intl.NumberFormat('en')

function When({ iso, now }: { iso: string; now: number }) {
  return (
    <time dateTime={iso} title={formatDateTime(iso)}>
      {relativeTime(iso, now)}
    </time>
  )
}

function NodeRow({ node, now }: { node: LoadBalancerNode; now: number }) {
  return (
    <TR data-testid={`lb-node-${node.node}`} data-status={node.status}>
      <TD className="font-mono font-medium">{node.node}</TD>
      <TD>
        <StatusBadge status={node.status} />
      </TD>
      <TD className="whitespace-nowrap tabular-nums" data-testid="lb-node-revision">
        {node.revision > 0 ? `#${node.revision}` : <span className="text-neutral-400">none yet</span>}
        {node.behindBy ? <span className="ml-1.5 text-xs text-amber-800">{node.behindBy} behind</span> : null}
        {node.seenRevision > node.revision ? <p className="text-xs text-neutral-500">read #{node.seenRevision}</p> : null}
      </TD>
      <TD className="text-right whitespace-nowrap tabular-nums">
        {node.lagMs === null ? '—' : `${msFormat.format(Math.round(node.lagMs))} ms`}
      </TD>
      <TD className="whitespace-nowrap">
        <span data-testid="lb-node-method">{METHOD_LABEL[node.method]}</span>
        {node.appliedAt ? (
          <p className="text-xs text-neutral-500">
            <When iso={node.appliedAt} now={now} />
          </p>
        ) : null}
      </TD>
      <TD className="max-w-sm text-xs" data-testid="lb-node-error">
        {node.lastError ? (
          <>
            <p className={node.status === 'error' ? 'break-words text-red-700' : 'break-words text-neutral-600'}>{node.lastError}</p>
            {node.lastErrorAt ? <p className="text-neutral-500">{formatDateTime(node.lastErrorAt)}</p> : null}
          </>
        ) : (
          <span className="text-neutral-400">—</span>
        )}
      </TD>
      <TD className="whitespace-nowrap tabular-nums" data-testid="lb-node-last-seen">
        <When iso={node.lastSeen} now={now} />
      </TD>
    </TR>
  )
}

/** The load balancers' state and the time it was read at (which node statuses and "… ago" are relative to). */
async function readState(actor: UserActor): Promise<{ now: number; state: TLoadBalancers } | { now: number; error: ProvisionerError }> {
  try {
    const state = await listLoadBalancers(getRouter(), actor, getConfig().routing.agentStaleMs, Date.now())
    // Taken after the read: a report written while it ran must never look younger than it is.
    return { now: Date.now(), state }
  } catch (err) {
    if (err instanceof ProvisionerError) return { now: Date.now(), error: err }
    throw err
  }
}

/** The HAProxy nodes and the routing they applied, as their agents report through Consul (staff only; for anyone else the page does not exist). */
export default async function LoadBalancersPage() {
  const { actor } = await pageContext()
  if (!isStaff(actor)) notFound()
  const read = await readState(actor)
  if ('error' in read) {
    // Consul being away is what an operator comes here to find out about: say so, and keep refreshing.
    return (
      <>
        <Header live />
        <Alert variant="error" title="Consul cannot be read" data-testid="lb-consul-error">
          {read.error.message}
        </Alert>
      </>
    )
  }
  const { now, state } = read

  if (state.router === 'direct') {
    return (
      <>
        <Header live={false} />
        <div data-testid="lb-direct">
          <EmptyState icon={<Network aria-hidden />} title="No load balancer is configured">
            <p>
              Without one, the console links to each instance’s active appserver directly, at the appserver’s own address (“Open site”). To
              route the instances’ hostnames through HAProxy, set <code className="font-mono">CONSUL_HTTP_ADDR</code> for the control plane
              and run <code className="font-mono">npm run lb-agent</code> on each HAProxy node (see the README).
            </p>
          </EmptyState>
        </div>
      </>
    )
  }

  return (
    <>
      <Header live />
      <Card className="mb-5">
        <CardContent className="flex flex-wrap gap-x-10 gap-y-2 py-3 text-sm">
          <div>
            <p className="text-neutral-500">Latest routing revision</p>
            <p className="font-semibold tabular-nums" data-testid="lb-revision">
              {state.revision === null ? 'nothing published yet' : `#${state.revision}`}
            </p>
          </div>
          <div>
            <p className="text-neutral-500">Published</p>
            <p data-testid="lb-published">
              {state.publishedAt ? (
                <>
                  {formatDateTime(state.publishedAt)} <span className="text-neutral-500">({relativeTime(state.publishedAt, now)})</span>
                </>
              ) : (
                '—'
              )}
            </p>
          </div>
        </CardContent>
      </Card>
      {state.nodes.length === 0 ? (
        <EmptyState icon={<Network aria-hidden />} title="No load balancer has reported yet">
          Start <code className="font-mono">npm run lb-agent</code> on each HAProxy node, with the same{' '}
          <code className="font-mono">CONSUL_HTTP_ADDR</code> and <code className="font-mono">CONSUL_PREFIX</code> as the control plane.
          Each node appears here once its agent reports.
        </EmptyState>
      ) : (
        <Table aria-label="Load-balancer nodes">
          <THead>
            <tr>
              <TH>Node</TH>
              <TH>Status</TH>
              <TH>Applied revision</TH>
              <TH className="text-right">Lag</TH>
              <TH>Applied by</TH>
              <TH>Last error</TH>
              <TH>Last seen</TH>
            </tr>
          </THead>
          <TBody>
            {state.nodes.map((node) => (
              <NodeRow key={node.node} node={node} now={now} />
            ))}
          </TBody>
        </Table>
      )}
    </>
  )
}

function Header({ live }: { live: boolean }) {
  return (
    <PageHeader
      title="Load balancers"
      description="HAProxy nodes route each instance’s hostnames to its appservers, from the routing the control plane publishes to Consul."
      actions={live ? <AutoRefresh seconds={REFRESH_SECONDS} /> : null}
    />
  )
}
