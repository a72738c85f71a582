import Link from 'next/link'
import { RefreshCw, RotateCcw, Undo2 } from 'lucide-react'
import { ConfirmPost } from '@/components/confirm-post'
import { DeployDialog } from '@/components/deploy-dialog'
import { formatDateTime } from '@/components/format'
import { ResourcePostButton } from '@/components/resource-actions'
import { ResourceCredentialsDialog } from '@/components/resource-credentials-dialog'
import { RESOURCE_KIND_LABEL, RESOURCE_KIND_ORDER, RESOURCE_KIND_PURPOSE } from '@/components/resource-kinds'
import { ResourcePurgeDialog } from '@/components/resource-purge-dialog'
import { StatusBadge } from '@/components/status-badge'
import { Alert } from '@/components/ui/alert'
import { Table, TBody, TD, TH, THead, TR } from '@/components/ui/table'
import type { UserActor } from '@/lib/auth/actor'
import { isStaff } from '@/lib/auth/policy'
import type { Db } from '@/lib/db/client'
import { listInstanceResources } from '@/lib/resources/list-resources'
import type { TInstanceResources, TResource } from '@/lib/resources/schemas'
import type { ResourceKind } from '@/provisioners/types'

type Row =
  | { type: 'resource'; kind: ResourceKind; resource: TResource }
  | { type: 'not-configured'; kind: ResourceKind }
  | { type: 'missing'; kind: ResourceKind }

/** One row per kind the instance uses, in the console's kind order: its resource, or why it has none. */
function rowsOf(data: TInstanceResources): Row[] {
  const rows: Row[] = []
  for (const kind of RESOURCE_KIND_ORDER) {
    const resource = data.resources.find((r) => r.kind === kind && r.state !== 'destroyed')
    if (resource) rows.push({ type: 'resource', kind, resource })
    else if (data.notConfigured.includes(kind)) rows.push({ type: 'not-configured', kind })
    else if (data.missing.includes(kind)) rows.push({ type: 'missing', kind })
  }
  return rows
}

function formatBytes(bytes: number | null): string {
  if (bytes === null) return '—'
  if (bytes < 1024) return `${bytes} B`
  const units = ['KiB', 'MiB', 'GiB', 'TiB']
  let value = bytes / 1024
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`
}

const listFormat = new Intl.ListFormat('en', { type: 'conjunction' })

function Names({ names }: { names: TResource['names'] }) {
  if (!names) return <span className="text-neutral-400">—</span>
  const entries: [string, string][] = [
    ...(names.username ? [['user', names.username] satisfies [string, string]] : []),
    ...Object.entries(names.databases ?? {}).map(([purpose, db]): [string, string] => [`${purpose} database`, db]),
    ...(names.vhost ? [['vhost', names.vhost] satisfies [string, string]] : []),
    ...(names.bucket ? [['bucket', names.bucket] satisfies [string, string]] : []),
  ]
  return (
    <dl className="space-y-0.5 text-xs">
      {entries.map(([term, value]) => (
        <div key={term} className="flex flex-wrap gap-x-1.5">
          <dt className="text-neutral-500">{term}</dt>
          <dd className="font-mono break-all text-neutral-900">{value}</dd>
        </div>
      ))}
    </dl>
  )
}

/** What staff need to know about a resource beyond its state: why it failed, when it is tried again, notes. */
function Details({ resource }: { resource: TResource }) {
  const notes: React.ReactNode[] = []
  if (resource.lastError) {
    notes.push(
      <p key="error" className="break-words text-red-700" data-testid={`resource-error-${resource.kind}`}>
        {resource.lastError}
      </p>,
    )
  }
  if (resource.attempts > 0) {
    notes.push(
      <p key="attempts" className="text-neutral-600">
        {resource.attempts} failed attempt{resource.attempts === 1 ? '' : 's'}
        {resource.nextAttemptAt
          ? ` · next automatic attempt ${formatDateTime(resource.nextAttemptAt)}`
          : resource.state === 'failed'
            ? ' · no more automatic attempts: retry once the cause is fixed'
            : ''}
      </p>,
    )
  }
  if (resource.rotationPending) {
    notes.push(
      <p key="rotating" className="text-blue-800" data-testid={`resource-rotating-${resource.kind}`}>
        Rotating credentials…
      </p>,
    )
  } else if (resource.rotatedAt) {
    notes.push(
      <p key="rotated" className="text-neutral-600" data-testid={`resource-rotated-${resource.kind}`}>
        Credentials rotated {formatDateTime(resource.rotatedAt)}
      </p>,
    )
  }
  if (resource.state === 'retained') notes.push(<p key="retained">Kept while the instance is archived.</p>)
  if (resource.sharedCredentials) {
    notes.push(
      <p key="shared" className="text-amber-800" data-testid="resource-shared-credentials">
        The endpoint has no IAM, so the instance uses the cluster’s own key, which opens every bucket on it.
      </p>,
    )
  }
  if (resource.state === 'ready' && resource.readyAt && !notes.length) {
    notes.push(
      <p key="ready" className="text-neutral-500">
        Ready since {formatDateTime(resource.readyAt)}
      </p>,
    )
  }
  return notes.length ? <div className="space-y-1 text-xs">{notes}</div> : <span className="text-neutral-400">—</span>
}

function ResourceActions({ resource, instanceArchived }: { resource: TResource; instanceArchived: boolean }) {
  const label = RESOURCE_KIND_LABEL[resource.kind]
  const ensurable = !instanceArchived && (resource.state === 'failed' || resource.state === 'ready' || resource.state === 'provisioning')
  const revealable = resource.state === 'ready' || resource.state === 'retained'
  const rotatable = !instanceArchived && resource.state === 'ready' && !resource.rotationPending
  return (
    <div className="flex flex-wrap items-start justify-end gap-1">
      {ensurable ? (
        <ResourcePostButton
          path={`/api/v1/resources/${resource.id}/retry`}
          variant="ghost"
          label={`${resource.state === 'failed' ? 'Retry' : 'Check again'} ${label}`}
        >
          <RefreshCw aria-hidden /> {resource.state === 'failed' ? 'Retry' : 'Check again'}
        </ResourcePostButton>
      ) : null}
      {revealable ? <ResourceCredentialsDialog resourceId={resource.id} kindLabel={label} /> : null}
      {rotatable ? (
        <ConfirmPost
          trigger={
            <>
              <RotateCcw aria-hidden /> Rotate credentials
            </>
          }
          triggerLabel={`Rotate ${label} credentials`}
          triggerVariant="ghost"
          triggerSize="sm"
          title={`Rotate the ${label} credentials?`}
          description={
            <>
              The instance gets a new {resource.kind === 's3' ? 'access key' : 'password'}.{' '}
              <strong>The old credentials stop working</strong> as soon as the rotation completes, and running appservers still use them:
              redeploy the instance once it is done. This page offers the redeploy.
            </>
          }
          confirmLabel="Rotate credentials"
          path={`/api/v1/resources/${resource.id}/rotate`}
        />
      ) : null}
    </div>
  )
}

/**
 * The instance page's Resources section: its databases, vhost and bucket on the shared clusters, what it runs
 * without (local fallbacks), and what happens to them once it is archived. Staff see where each lives and act on
 * them; clients see the kind and state only. Live: the layout's event stream refreshes it on every change.
 */
export async function ResourcesSection({
  db,
  actor,
  instance,
}: {
  db: Db
  actor: UserActor
  instance: { id: string; slug: string; name: string }
}) {
  const staff = isStaff(actor)
  const data = await listInstanceResources(db, actor, instance.id)
  const archived = data.status === 'archived'
  // Read after listInstanceResources has checked the actor may read this instance.
  const active =
    staff && !archived
      ? await db.deployment.findFirst({ where: { instanceId: instance.id, status: 'active' }, select: { number: true, createdAt: true } })
      : null
  // Once purged, nothing is left to list but the history of what was destroyed.
  const rows = data.purgedAt ? [] : rowsOf(data)
  const destroyed = data.resources.filter((r) => r.state === 'destroyed')
  // A rotation finished after the serving deployment froze its configuration: its appservers hold dead credentials.
  const stale = active
    ? data.resources.filter((r) => r.state === 'ready' && !r.rotationPending && r.rotatedAt && new Date(r.rotatedAt) > active.createdAt)
    : []
  const showHistory = staff && destroyed.length > 0

  return (
    <section className="mt-6 space-y-3" aria-labelledby="resources-heading" data-testid="resources">
      <div className="flex flex-wrap items-center justify-between gap-3">
        <div>
          <h2 id="resources-heading" className="text-sm font-semibold">
            Resources
          </h2>
          <p className="text-sm text-neutral-600">
            {staff
              ? 'The instance’s databases, message queue vhost and storage bucket on the shared clusters.'
              : 'Where this instance keeps its data. The hosting team provisions and looks after these for you.'}
          </p>
        </div>
        {staff && !archived && data.missing.length ? (
          <ResourcePostButton path={`/api/v1/instances/${instance.id}/resources`} variant="default">
            Provision {listFormat.format(data.missing.map((k) => RESOURCE_KIND_LABEL[k]))}
          </ResourcePostButton>
        ) : null}
      </div>

      {archived ? (
        <div data-testid="retention">
          {data.purgedAt ? (
            <Alert variant="info" title={`Data destroyed on ${formatDateTime(data.purgedAt)}`}>
              The instance’s databases, vhost and bucket were deleted{staff ? '; the final export below is what remains' : ''}.
            </Alert>
          ) : (
            <Alert
              variant="warning"
              title={data.purgeAfter ? `Data kept until ${formatDateTime(data.purgeAfter)}` : 'Final export in progress'}
            >
              <p>
                {data.purgeAfter
                  ? 'Then its databases, vhost and bucket are destroyed. Restoring the instance before then keeps them.'
                  : 'The instance’s databases are being exported; its data is then kept for the retention period.'}
              </p>
              {staff ? (
                <div className="mt-2 flex flex-wrap items-center gap-2">
                  <ConfirmPost
                    trigger={
                      <>
                        <Undo2 aria-hidden /> Restore
                      </>
                    }
                    triggerSize="sm"
                    title={`Restore ${instance.name}?`}
                    description="It is no longer archived and can be edited again. Its resources are checked (their credentials must still work); then deploy it to serve the site again."
                    confirmLabel="Restore instance"
                    path={`/api/v1/instances/${instance.id}/restore`}
                  />
                  {data.purgeAfter ? <ResourcePurgeDialog instanceId={instance.id} slug={instance.slug} name={instance.name} /> : null}
                </div>
              ) : null}
            </Alert>
          )}
        </div>
      ) : null}

      {stale.length > 0 && active ? (
        <div data-testid="credentials-redeploy">
          <Alert variant="warning" title={`New credentials since deployment #${active.number} — redeploy`}>
            <div className="mt-1 flex flex-wrap items-center gap-3">
              <span>
                The {listFormat.format(stale.map((r) => RESOURCE_KIND_LABEL[r.kind]))} credentials were rotated after deployment #
                {active.number} was built; its appservers still use the old ones, which no longer work.
              </span>
              <DeployDialog instanceId={instance.id} redeploy />
            </div>
          </Alert>
        </div>
      ) : null}

      {rows.length ? (
        <Table aria-label="Resources">
          <THead>
            <tr>
              <TH>Kind</TH>
              <TH>State</TH>
              {staff ? (
                <>
                  <TH>Cluster</TH>
                  <TH>Names</TH>
                  <TH>Details</TH>
                  <TH>
                    <span className="sr-only">Actions</span>
                  </TH>
                </>
              ) : null}
            </tr>
          </THead>
          <TBody>
            {rows.map((row) => (
              <TR
                key={row.kind}
                data-testid={`resource-${row.kind}`}
                data-state={row.type === 'resource' ? row.resource.state : row.type === 'missing' ? 'not provisioned' : 'not configured'}
              >
                <TD className="font-medium">{RESOURCE_KIND_LABEL[row.kind]}</TD>
                <TD>
                  <StatusBadge
                    status={row.type === 'resource' ? row.resource.state : row.type === 'missing' ? 'not provisioned' : 'not configured'}
                  />
                </TD>
                {staff && row.type === 'resource' ? (
                  <>
                    <TD className="font-mono text-xs">
                      {row.resource.cluster ? (
                        <Link href="/clusters" className="text-blue-700 hover:underline">
                          {row.resource.cluster.name}
                        </Link>
                      ) : (
                        '—'
                      )}
                    </TD>
                    <TD>
                      <Names names={row.resource.names} />
                    </TD>
                    <TD className="max-w-sm">
                      <Details resource={row.resource} />
                    </TD>
                    <TD>
                      <ResourceActions resource={row.resource} instanceArchived={archived} />
                    </TD>
                  </>
                ) : staff ? (
                  <TD colSpan={4} className="text-xs text-neutral-700">
                    {row.type === 'not-configured' && archived ? (
                      `No ${RESOURCE_KIND_LABEL[row.kind]} cluster held this instance’s ${RESOURCE_KIND_PURPOSE[row.kind]}: it used a local fallback.`
                    ) : row.type === 'not-configured' ? (
                      <>
                        No {RESOURCE_KIND_LABEL[row.kind]} cluster accepts new instances, so this instance keeps its{' '}
                        {RESOURCE_KIND_PURPOSE[row.kind]} in a local fallback on its appserver: that data is lost whenever the appserver is
                        replaced, at every deploy.{' '}
                        <Link href="/clusters" className="text-blue-700 hover:underline">
                          Register a cluster
                        </Link>
                      </>
                    ) : archived ? (
                      'Never provisioned.'
                    ) : (
                      <>
                        A {RESOURCE_KIND_LABEL[row.kind]} cluster accepts instances now: provision to give this instance its own (empty)
                        resource there, then redeploy. Until then it uses a local fallback.
                      </>
                    )}
                  </TD>
                ) : null}
              </TR>
            ))}
          </TBody>
        </Table>
      ) : data.purgedAt ? null : (
        <p className="text-sm text-neutral-500">This instance’s blueprint needs no resources.</p>
      )}

      {showHistory ? (
        <details className="text-sm" open={archived}>
          <summary className="cursor-pointer text-neutral-600">Destroyed resources ({destroyed.length})</summary>
          <ul className="mt-2 space-y-1">
            {destroyed.map((r) => (
              <li key={r.id} className="flex flex-wrap items-center gap-2 text-xs" data-testid={`destroyed-resource-${r.kind}`}>
                <span className="font-medium">{RESOURCE_KIND_LABEL[r.kind]}</span>
                <StatusBadge status={r.state} />
                <span className="text-neutral-600">
                  on <span className="font-mono">{r.cluster?.name ?? '—'}</span>, destroyed {formatDateTime(r.destroyedAt)}
                </span>
              </li>
            ))}
          </ul>
        </details>
      ) : null}

      {staff && data.exports.length ? (
        <div className="space-y-2">
          <h3 className="text-sm font-semibold">Final exports</h3>
          <Table aria-label="Final exports">
            <THead>
              <tr>
                <TH>Started</TH>
                <TH>State</TH>
                <TH>Location</TH>
                <TH className="text-right">Size</TH>
                <TH>SHA-256</TH>
              </tr>
            </THead>
            <TBody>
              {data.exports.map((e) => (
                <TR key={e.id} data-testid="final-export" data-state={e.state}>
                  <TD className="whitespace-nowrap">{formatDateTime(e.createdAt)}</TD>
                  <TD>
                    <StatusBadge status={e.state} />
                    {e.error ? <p className="mt-1 max-w-xs text-xs break-words text-red-700">{e.error}</p> : null}
                  </TD>
                  <TD className="font-mono text-xs break-all">{e.location}</TD>
                  <TD className="text-right whitespace-nowrap tabular-nums">{formatBytes(e.bytes)}</TD>
                  <TD className="font-mono text-xs break-all">{e.sha256 ?? '—'}</TD>
                </TR>
              ))}
            </TBody>
          </Table>
        </div>
      ) : null}
    </section>
  )
}
