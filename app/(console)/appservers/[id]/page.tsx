import type { Metadata } from 'next'
import Link from 'next/link'
import { ExternalLink } from 'lucide-react'
import { AppserverLog } from '@/components/appserver-log'
import { ConfigurationTable } from '@/components/configuration-table'
import { formatDateTime } from '@/components/format'
import { PageHeader } from '@/components/page-header'
import { StatusBadge } from '@/components/status-badge'
import { Alert } from '@/components/ui/alert'
import { Card, CardContent, CardHeader, CardTitle } from '@/components/ui/card'
import { getAppserver } from '@/lib/appservers/get-appserver'
import { isStaff } from '@/lib/auth/policy'
import { orNotFound, pageContext } from '../../_lib/page-actor'

export const metadata: Metadata = { title: 'Appserver' }

function Row({ term, children }: { term: string; children: React.ReactNode }) {
  return (
    <div className="grid grid-cols-[9rem_1fr] gap-3 py-2 text-sm">
      <dt className="text-neutral-500">{term}</dt>
      <dd className="min-w-0 break-words text-neutral-900">{children}</dd>
    </div>
  )
}

/**
 * One appserver: where it belongs, its state and failure, its state changes with their times, its live log,
 * and (staff) its address and frozen configuration. Another organization's appserver is a 404.
 */
export default async function AppserverPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params
  const { db, actor } = await pageContext()
  const appserver = await orNotFound(getAppserver(db, actor, id))
  const staff = isStaff(actor)
  // Authorised by getAppserver above. Transitions only: the live log below has everything.
  const transitions = await db.appserverLogLine.findMany({
    where: { appserverId: appserver.id, kind: 'transition' },
    orderBy: { id: 'asc' },
    take: 200,
  })
  const deploymentHref = `/instances/${appserver.instanceId}#deployment-${appserver.deploymentNumber}`

  return (
    <>
      <nav aria-label="Breadcrumb" className="mb-2 text-sm text-neutral-500">
        <Link href="/instances" className="hover:underline">
          Instances
        </Link>{' '}
        /{' '}
        <Link href={`/instances/${appserver.instanceId}`} className="hover:underline">
          {appserver.instance.slug}
        </Link>{' '}
        / <span className="text-neutral-700">appserver</span>
      </nav>
      <PageHeader
        title={
          <span data-testid="appserver-title">
            Appserver {appserver.index} of deployment #{appserver.deploymentNumber}
          </span>
        }
        description={
          <>
            <Link href={`/instances/${appserver.instanceId}`} className="text-blue-700 hover:underline">
              {appserver.instance.name}
            </Link>{' '}
            · <StatusBadge status={appserver.state} /> since {formatDateTime(appserver.stateChangedAt)}
          </>
        }
      />
      {appserver.failedPhase || appserver.error ? (
        <Alert variant="error" title={appserver.failedPhase ? `Failed while ${appserver.failedPhase}` : 'Failed'} className="mb-5">
          <span className="break-words whitespace-pre-wrap">{appserver.error ?? 'No detail was recorded.'}</span>
        </Alert>
      ) : null}

      <div className="grid gap-5 lg:grid-cols-2">
        <Card>
          <CardHeader>
            <CardTitle>Overview</CardTitle>
          </CardHeader>
          <CardContent className="py-1">
            <dl className="divide-y divide-neutral-100">
              <Row term="Instance">
                <Link href={`/instances/${appserver.instanceId}`} className="text-blue-700 hover:underline">
                  {appserver.instance.name}
                </Link>
              </Row>
              <Row term="Deployment">
                <Link href={deploymentHref} className="text-blue-700 hover:underline">
                  #{appserver.deploymentNumber}
                </Link>
              </Row>
              <Row term="State">
                <span data-testid="appserver-state">
                  <StatusBadge status={appserver.state} />
                </span>
              </Row>
              <Row term="Driver">{appserver.driver}</Row>
              {staff ? (
                <>
                  <Row term="Address">
                    {appserver.address ? (
                      <a
                        href={appserver.address}
                        target="_blank"
                        rel="noreferrer"
                        className="inline-flex items-center gap-1 font-mono text-blue-700 hover:underline"
                      >
                        {appserver.address} <ExternalLink aria-hidden className="size-3.5" />
                        <span className="sr-only">(opens in a new tab)</span>
                      </a>
                    ) : (
                      '—'
                    )}
                  </Row>
                  <Row term="External id">
                    <span className="font-mono text-xs">{appserver.externalId ?? '—'}</span>
                  </Row>
                  <Row term="Health check">
                    <span className="font-mono text-xs">{appserver.healthPath}</span>
                  </Row>
                </>
              ) : null}
              <Row term="Created">{formatDateTime(appserver.createdAt)}</Row>
              <Row term="Terminated">{formatDateTime(appserver.terminatedAt)}</Row>
            </dl>
          </CardContent>
        </Card>
        <Card>
          <CardHeader>
            <CardTitle>Timeline</CardTitle>
          </CardHeader>
          <CardContent>
            {transitions.length ? (
              <ol className="relative space-y-3 border-l border-neutral-200 pl-4" aria-label="State changes">
                {transitions.map((t) => (
                  <li key={String(t.id)} className="text-sm">
                    <span aria-hidden className="absolute -left-[5px] mt-1.5 size-2.5 rounded-full border-2 border-white bg-neutral-400" />
                    <div className="flex flex-wrap items-center gap-2">
                      {t.toState ? <StatusBadge status={t.toState} /> : null}
                      <time dateTime={t.at.toISOString()} className="text-xs text-neutral-500 tabular-nums">
                        {t.at.toISOString().slice(0, 10)} {t.at.toISOString().slice(11, 23)} UTC
                      </time>
                    </div>
                    {t.message ? <p className="mt-0.5 text-neutral-700">{t.message}</p> : null}
                  </li>
                ))}
              </ol>
            ) : (
              <p className="text-sm text-neutral-500">No state changes yet: the appserver is waiting for a worker.</p>
            )}
          </CardContent>
        </Card>
      </div>

      <section className="mt-6 space-y-2" aria-labelledby="log-heading">
        <h2 id="log-heading" className="text-sm font-semibold">
          Log
        </h2>
        <AppserverLog appserverId={appserver.id} staff={staff} />
      </section>

      {staff && appserver.configuration ? (
        <section className="mt-6 space-y-2" aria-labelledby="configuration-heading">
          <h2 id="configuration-heading" className="text-sm font-semibold">
            Frozen configuration
          </h2>
          <p className="text-sm text-neutral-600">
            What this appserver was built with, fixed when deployment #{appserver.deploymentNumber} started. Secrets are stored encrypted
            and never shown.
          </p>
          <ConfigurationTable configuration={appserver.configuration} secretKeys={appserver.secretKeys} label="Frozen configuration" />
        </section>
      ) : null}
    </>
  )
}
