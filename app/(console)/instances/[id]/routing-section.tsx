import Link from 'next/link'
import { ExternalLink, Waypoints } from 'lucide-react'
import { formatDateTime } from '@/components/format'
import { StatusBadge } from '@/components/status-badge'
import { EmptyState } from '@/components/ui/empty-state'
import { Table, TBody, TD, TH, THead, TR } from '@/components/ui/table'
import type { UserActor } from '@/lib/auth/actor'
import { getConfig } from '@/lib/config'
import type { Db } from '@/lib/db/client'
import { getInstanceRouting } from '@/lib/routing/get-instance-routing'
import { getRouter } from '@/lib/routing/get-router'
import type { TInstanceRouting } from '@/lib/routing/schemas'

type Backend = NonNullable<TInstanceRouting['backends']>[number]

/** Staff: the appservers a hostname goes to (active first, then those finishing their requests), or the maintenance page. */
function Destination({ routing }: { routing: TInstanceRouting }) {
  if (routing.backends === null) return <StatusBadge status={routing.maintenance ? 'maintenance page' : 'served'} />
  const backends: Backend[] = [
    ...routing.backends.filter((b) => b.role === 'active'),
    ...routing.backends.filter((b) => b.role === 'draining'),
  ]
  return (
    <div className="space-y-1.5">
      {routing.maintenance ? <StatusBadge status="maintenance page" /> : null}
      {backends.length ? (
        <ul className="space-y-1">
          {backends.map((b) => (
            <li
              key={b.appserverId}
              className="flex flex-wrap items-center gap-x-2 gap-y-0.5"
              data-testid="routing-backend"
              data-role={b.role}
            >
              <StatusBadge status={b.role} />
              <Link href={`/appservers/${b.appserverId}`} className="font-medium text-blue-700 hover:underline">
                Appserver <span className="font-mono">{b.appserverId.slice(0, 8)}</span>
              </Link>
              <span className="font-mono text-xs text-neutral-600">{b.address}</span>
            </li>
          ))}
        </ul>
      ) : routing.maintenance ? null : (
        <span className="text-neutral-400">—</span>
      )}
    </div>
  )
}

/**
 * The instance page's Routing section: where each hostname goes as last published (staff see the appservers, clients
 * only whether the site is served). Live: activations are deployment events, which refresh the page.
 */
export async function RoutingSection({
  db,
  actor,
  instanceId,
  archived,
}: {
  db: Db
  actor: UserActor
  instanceId: string
  archived: boolean
}) {
  const config = getConfig()
  const routing = await getInstanceRouting(db, actor, getRouter().kind, config.hostingZone, instanceId)
  const staff = routing.backends !== null
  // An instance always has hostnames; should one not, its destination still shows.
  const hostnames = routing.hostnames.length ? routing.hostnames : ['—']

  return (
    <section className="mt-6 space-y-3" aria-labelledby="routing-heading" data-testid="routing">
      <div className="flex flex-wrap items-end justify-between gap-3">
        <div>
          <h2 id="routing-heading" className="text-sm font-semibold">
            Routing
          </h2>
          <p className="text-sm text-neutral-600">
            {routing.router === 'consul' ? (
              <>
                Through the load balancers
                {staff ? (
                  <>
                    {' '}
                    (
                    <Link href="/load-balancers" className="text-blue-700 hover:underline">
                      their state
                    </Link>
                    )
                  </>
                ) : null}
                .
              </>
            ) : (
              'No load balancer: the site is reached at its active appserver’s address.'
            )}
          </p>
        </div>
        {routing.siteUrl ? (
          <a
            href={routing.siteUrl}
            target="_blank"
            rel="noreferrer"
            className="inline-flex items-center gap-1 font-mono text-sm text-blue-700 hover:underline"
            data-testid="routing-site"
          >
            {routing.siteUrl} <ExternalLink aria-hidden className="size-3.5" />
            <span className="sr-only">(opens in a new tab)</span>
          </a>
        ) : null}
      </div>

      {routing.revision === null ? (
        <div data-testid="routing-none">
          <EmptyState icon={<Waypoints aria-hidden />} title={archived ? 'Not routed' : 'Not routed yet'} className="py-8">
            <p>
              {archived
                ? 'It was archived: its hostnames are no longer routed.'
                : 'Deploy to route its hostnames: they go to its appservers once these are healthy.'}
            </p>
            {routing.hostnames.length ? (
              <ul
                aria-label="Hostnames"
                className="mt-2 flex flex-wrap justify-center gap-x-3 gap-y-0.5 font-mono text-xs text-neutral-700"
              >
                {routing.hostnames.map((h) => (
                  <li key={h}>{h}</li>
                ))}
              </ul>
            ) : null}
          </EmptyState>
        </div>
      ) : (
        <>
          <Table aria-label="Routing">
            <THead>
              <tr>
                <TH>Hostname</TH>
                <TH>Goes to</TH>
              </tr>
            </THead>
            <TBody>
              {hostnames.map((hostname, i) => (
                <TR key={hostname} data-testid="routing-hostname">
                  <TD className="font-mono break-all">{hostname}</TD>
                  {/* Every hostname of an instance goes to the same place: one cell for all of them. */}
                  {i === 0 ? (
                    <TD rowSpan={hostnames.length} className="border-l border-neutral-100">
                      <Destination routing={routing} />
                    </TD>
                  ) : null}
                </TR>
              ))}
            </TBody>
          </Table>
          <p className="text-xs text-neutral-500" data-testid="routing-revision">
            Published {routing.revision} {routing.revision === 1 ? 'time' : 'times'}, last {formatDateTime(routing.updatedAt)}.
          </p>
        </>
      )}
    </section>
  )
}
