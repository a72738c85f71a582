import Link from 'next/link'
import type { TDeployment } from '@/lib/deployments/schemas'
import { ConfirmPost } from './confirm-post'
import { formatDateTime } from './format'
import { StatusBadge } from './status-badge'
import { Alert } from './ui/alert'
import { Table, TBody, TD, TH, THead, TR } from './ui/table'

function Fact({ term, children }: { term: string; children: React.ReactNode }) {
  return (
    <div className="flex gap-1.5">
      <dt className="text-neutral-500">{term}</dt>
      <dd className="text-neutral-800">{children}</dd>
    </div>
  )
}

function triggerText(d: TDeployment, numbers: Map<string, number>): string {
  if (d.trigger !== 'rollback') return d.trigger
  const of = d.rollbackOfId ? numbers.get(d.rollbackOfId) : undefined
  return of ? `rollback to #${of}` : 'rollback'
}

/**
 * An instance's deployments, newest first: each with its status, what started it, its times, and its
 * appservers (state, failure, link to the appserver's page). Staff can cancel one that is still building.
 */
export function DeploymentList({ instanceId, deployments, staff }: { instanceId: string; deployments: TDeployment[]; staff: boolean }) {
  const numbers = new Map(deployments.map((d) => [d.id, d.number]))
  return (
    <ol className="space-y-3" aria-label="Deployments">
      {deployments.map((d) => (
        <li
          key={d.id}
          id={`deployment-${d.number}`}
          data-testid={`deployment-${d.number}`}
          data-status={d.status}
          className="rounded-lg border border-neutral-200 bg-white shadow-xs"
        >
          <div className="flex flex-wrap items-center gap-x-3 gap-y-1 border-b border-neutral-100 px-4 py-2.5">
            <h3 className="text-sm font-semibold text-neutral-900">Deployment #{d.number}</h3>
            <StatusBadge status={d.status} />
            <dl className="flex flex-wrap gap-x-4 gap-y-1 text-xs">
              <Fact term="Trigger">{triggerText(d, numbers)}</Fact>
              <Fact term="Release">
                <span className="font-mono">{d.release ?? '—'}</span>
              </Fact>
              <Fact term="By">{d.requestedBy}</Fact>
              <Fact term="Started">{formatDateTime(d.createdAt)}</Fact>
              {d.activatedAt ? <Fact term="Active since">{formatDateTime(d.activatedAt)}</Fact> : null}
              {d.supersededAt ? <Fact term="Replaced">{formatDateTime(d.supersededAt)}</Fact> : null}
              {d.finishedAt ? <Fact term="Finished">{formatDateTime(d.finishedAt)}</Fact> : null}
            </dl>
            {staff && d.status === 'building' ? (
              <div className="ml-auto">
                <ConfirmPost
                  trigger="Cancel"
                  triggerLabel={`Cancel deployment #${d.number}`}
                  triggerVariant="ghost"
                  triggerSize="sm"
                  title={`Cancel deployment #${d.number}?`}
                  description="Its appservers are stopped and removed. The active deployment keeps serving."
                  confirmLabel="Cancel deployment"
                  cancelLabel="Keep building"
                  destructive
                  path={`/api/v1/instances/${instanceId}/deployments/${d.id}/cancel`}
                />
              </div>
            ) : null}
          </div>
          <div className="space-y-2 px-4 py-3">
            {d.error ? (
              <Alert variant={d.status === 'cancelled' ? 'info' : 'error'} className="py-1.5">
                {d.error}
              </Alert>
            ) : null}
            {d.appservers.length ? (
              <Table aria-label={`Appservers of deployment #${d.number}`}>
                <THead>
                  <tr>
                    <TH>Appserver</TH>
                    <TH>State</TH>
                    <TH>Since</TH>
                    <TH>Problem</TH>
                  </tr>
                </THead>
                <TBody>
                  {d.appservers.map((a) => (
                    <TR key={a.id} data-testid={`appserver-${d.number}-${a.index}`} data-state={a.state}>
                      <TD className="whitespace-nowrap">
                        <Link
                          href={`/appservers/${a.id}`}
                          aria-label={`Appserver ${a.index} of deployment #${d.number}`}
                          className="font-medium text-blue-700 hover:underline"
                        >
                          Appserver {a.index}
                        </Link>{' '}
                        <span className="text-xs text-neutral-500">({a.driver})</span>
                      </TD>
                      <TD>
                        <StatusBadge status={a.state} />
                      </TD>
                      <TD className="whitespace-nowrap text-neutral-600 tabular-nums">{formatDateTime(a.stateChangedAt)}</TD>
                      <TD className="text-xs">
                        {a.failedPhase || a.error ? (
                          <span className="text-red-800">
                            {a.failedPhase ? <span className="font-medium">failed while {a.failedPhase}: </span> : null}
                            {a.error}
                          </span>
                        ) : (
                          <span className="text-neutral-400">—</span>
                        )}
                      </TD>
                    </TR>
                  ))}
                </TBody>
              </Table>
            ) : (
              <p className="text-sm text-neutral-500">No appservers.</p>
            )}
          </div>
        </li>
      ))}
    </ol>
  )
}
