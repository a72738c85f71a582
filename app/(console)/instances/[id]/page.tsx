import type { Metadata } from 'next'
import Link from 'next/link'
import { ExternalLink, Pencil } from 'lucide-react'
import { ArchiveInstanceDialog } from '@/components/archive-instance-dialog'
import { AuditTable } from '@/components/audit-table'
import { blueprintLabel, openedxFormMeta } from '@/components/blueprint-meta'
import { formatDateTime, formatValue } from '@/components/format'
import { PageHeader } from '@/components/page-header'
import { StatusBadge } from '@/components/status-badge'
import { Alert } from '@/components/ui/alert'
import { Badge } from '@/components/ui/badge'
import { buttonVariants } from '@/components/ui/button'
import { Card, CardContent, CardHeader, CardTitle } from '@/components/ui/card'
import { listAudit } from '@/lib/audit/list-audit'
import { isOrganizationOwner, isStaff } from '@/lib/auth/policy'
import { findReadableInstance } from '@/lib/instances/get-instance'
import { toInstance } from '@/lib/instances/to-instance'
import { orNotFound, pageContext, param, type SearchParams } from '../../_lib/page-actor'
import { DeploymentsSection } from './deployments-section'
import { DomainsSection } from './domains-section'
import { ResourcesSection } from './resources-section'
import { RoutingSection } from './routing-section'

export const metadata: Metadata = { title: 'Instance' }

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

function DefinitionRow({ term, children }: { term: string; children: React.ReactNode }) {
  return (
    <div className="grid grid-cols-[10rem_1fr] gap-3 py-2 text-sm">
      <dt className="text-neutral-500">{term}</dt>
      <dd className="min-w-0 break-words text-neutral-900">{children}</dd>
    </div>
  )
}

export default async function InstancePage({ params, searchParams }: { params: Promise<{ id: string }>; searchParams: SearchParams }) {
  const { id } = await params
  const before = Number(param((await searchParams).before))
  const { db, actor, hostingZone } = await pageContext()
  const instance = toInstance(await orNotFound(findReadableInstance(db, actor, id)), hostingZone)
  const staff = isStaff(actor)
  const mayReadAudit = staff || isOrganizationOwner(actor, instance.organization.id)
  const audit = mayReadAudit ? await listAudit({ db, actor, query: { targetType: 'instance', targetId: instance.id, limit: 10 } }) : null
  const archived = instance.status === 'archived'
  const { features: featureMeta } = openedxFormMeta()
  const settings = instance.settings
  const features = isRecord(settings.features) ? settings.features : {}
  const knownSettings = new Set(['release', 'platformName', 'contactEmail', 'features'])

  return (
    <>
      <nav aria-label="Breadcrumb" className="mb-2 text-sm text-neutral-500">
        <Link href="/instances" className="hover:underline">
          Instances
        </Link>{' '}
        / <span className="text-neutral-700">{instance.slug}</span>
      </nav>
      <PageHeader
        title={<span data-testid="instance-name">{instance.name}</span>}
        description={
          <a
            href={`https://${instance.hostname}`}
            target="_blank"
            rel="noreferrer"
            className="inline-flex items-center gap-1 font-mono text-blue-700 hover:underline"
          >
            {instance.hostname} <ExternalLink aria-hidden className="size-3.5" />
          </a>
        }
        actions={
          staff && !archived ? (
            <>
              <Link href={`/instances/${instance.id}/edit`} className={buttonVariants({ variant: 'secondary' })}>
                <Pencil aria-hidden /> Edit
              </Link>
              <ArchiveInstanceDialog id={instance.id} slug={instance.slug} name={instance.name} />
            </>
          ) : null
        }
      />
      {archived ? (
        <Alert variant="warning" title="This instance is archived" className="mb-5" data-testid="archived-banner">
          It was archived {formatDateTime(instance.archivedAt)}. It is no longer served and cannot be edited.
        </Alert>
      ) : null}

      <div className="grid gap-5 lg:grid-cols-2">
        <Card>
          <CardHeader>
            <CardTitle>Overview</CardTitle>
          </CardHeader>
          <CardContent className="py-1">
            <dl className="divide-y divide-neutral-100">
              <DefinitionRow term="Organization">
                <Link href={`/organizations/${instance.organization.id}`} className="text-blue-700 hover:underline">
                  {instance.organization.name}
                </Link>
              </DefinitionRow>
              <DefinitionRow term="Status">
                <StatusBadge status={instance.status} />
              </DefinitionRow>
              <DefinitionRow term="Blueprint">{blueprintLabel(instance.blueprint)}</DefinitionRow>
              <DefinitionRow term="Slug">
                <span className="font-mono">{instance.slug}</span>
              </DefinitionRow>
              <DefinitionRow term="Version">{instance.version}</DefinitionRow>
              <DefinitionRow term="Created">{formatDateTime(instance.createdAt)}</DefinitionRow>
              <DefinitionRow term="Updated">{formatDateTime(instance.updatedAt)}</DefinitionRow>
            </dl>
          </CardContent>
        </Card>
        <Card>
          <CardHeader>
            <CardTitle>Settings</CardTitle>
          </CardHeader>
          <CardContent className="py-1">
            <dl className="divide-y divide-neutral-100">
              <DefinitionRow term="Release">
                <span className="font-mono">{formatValue(settings.release)}</span>
              </DefinitionRow>
              <DefinitionRow term="Platform name">{formatValue(settings.platformName)}</DefinitionRow>
              <DefinitionRow term="Contact email">{formatValue(settings.contactEmail)}</DefinitionRow>
              <DefinitionRow term="Features">
                <ul className="flex flex-wrap gap-1.5">
                  {featureMeta.map((f) => (
                    <li key={f.key}>
                      <Badge variant={features[f.key] === true ? 'green' : 'neutral'} title={f.description}>
                        {f.label}: {features[f.key] === true ? 'on' : 'off'}
                      </Badge>
                    </li>
                  ))}
                </ul>
              </DefinitionRow>
              {Object.entries(settings)
                .filter(([k]) => !knownSettings.has(k))
                .map(([k, v]) => (
                  <DefinitionRow key={k} term={k}>
                    <span className="font-mono text-xs">{formatValue(v)}</span>
                  </DefinitionRow>
                ))}
            </dl>
            <div className="py-3">
              <h3 className="mb-1.5 text-sm text-neutral-500">Extra settings (YAML)</h3>
              {instance.extraSettings.trim() ? (
                <pre className="max-h-80 overflow-auto rounded-md border border-neutral-200 bg-neutral-50 p-3 font-mono text-xs leading-relaxed">
                  {instance.extraSettings}
                </pre>
              ) : (
                <p className="text-sm text-neutral-400">None</p>
              )}
            </div>
          </CardContent>
        </Card>
      </div>

      <DeploymentsSection
        db={db}
        actor={actor}
        instanceId={instance.id}
        hostname={instance.hostname}
        archived={archived}
        before={Number.isInteger(before) && before > 0 ? before : undefined}
      />

      <RoutingSection db={db} actor={actor} instanceId={instance.id} archived={archived} />

      <DomainsSection db={db} actor={actor} instanceId={instance.id} archived={archived} />

      <ResourcesSection db={db} actor={actor} instance={instance} />

      {audit ? (
        <section className="mt-6" aria-labelledby="history-heading">
          <div className="mb-2 flex items-center justify-between">
            <h2 id="history-heading" className="text-sm font-semibold">
              Recent changes
            </h2>
            <Link href={`/audit?targetType=instance&targetId=${instance.id}`} className="text-sm text-blue-700 hover:underline">
              Full history
            </Link>
          </div>
          {audit.items.length ? (
            <AuditTable entries={audit.items} organizationNames={{}} showOrganization={false} label="Recent changes" />
          ) : (
            <p className="text-sm text-neutral-500">No recorded changes.</p>
          )}
        </section>
      ) : null}
    </>
  )
}
