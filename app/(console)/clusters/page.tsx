import type { Metadata } from 'next'
import { notFound } from 'next/navigation'
import { Server } from 'lucide-react'
import { ClusterFormDialog } from '@/components/cluster-form'
import { ClusterList } from '@/components/cluster-list'
import { PageHeader } from '@/components/page-header'
import { LOCAL_FALLBACK_WARNING, RESOURCE_KIND_LABEL, RESOURCE_KIND_ORDER, RESOURCE_KIND_PURPOSE } from '@/components/resource-kinds'
import { EmptyState } from '@/components/ui/empty-state'
import { isStaff } from '@/lib/auth/policy'
import { listClusters } from '@/lib/clusters/list-clusters'
import { pageContext } from '../_lib/page-actor'
import { connectionDefaults } from './connection-defaults'

export const metadata: Metadata = { title: 'Clusters' }

/** The shared MySQL, MongoDB, RabbitMQ and S3 clusters instances get their resources on (staff only; for anyone else the page does not exist). */
export default async function ClustersPage() {
  const { db, actor } = await pageContext()
  if (!isStaff(actor)) notFound()
  const clusters = await listClusters(db, actor)
  const defaults = connectionDefaults()

  return (
    <>
      <PageHeader
        title="Clusters"
        description="Shared servers each new instance gets its own databases, vhost and bucket on, placed on the least-loaded cluster of each kind."
        actions={<ClusterFormDialog mode="create" defaults={defaults} />}
      />
      {clusters.length === 0 ? (
        <EmptyState icon={<Server aria-hidden />} title="No clusters registered">
          Without clusters, instances run with local fallbacks on their appservers (a database, a queue and file storage on the same
          machine), and that data is lost whenever an appserver is replaced. Register a MySQL, MongoDB, RabbitMQ or S3 cluster to give new
          instances durable storage; existing instances can then be provisioned from their page.
        </EmptyState>
      ) : (
        <div className="space-y-6">
          {RESOURCE_KIND_ORDER.map((kind) => {
            const ofKind = clusters.filter((c) => c.kind === kind)
            const accepting = ofKind.some((c) => c.acceptsNew)
            return (
              <section key={kind} aria-labelledby={`clusters-${kind}`} className="space-y-2">
                <div>
                  <h2 id={`clusters-${kind}`} className="text-sm font-semibold">
                    {RESOURCE_KIND_LABEL[kind]}
                  </h2>
                  <p className="text-xs text-neutral-500">Instances keep their {RESOURCE_KIND_PURPOSE[kind]} here.</p>
                </div>
                {ofKind.length ? <ClusterList clusters={ofKind} defaults={defaults} /> : null}
                {!accepting ? (
                  <p
                    className="rounded-md border border-dashed border-neutral-300 bg-white px-3 py-2 text-sm text-neutral-600"
                    data-testid={`clusters-${kind}-none`}
                  >
                    No {RESOURCE_KIND_LABEL[kind]} cluster {ofKind.length ? 'accepts new instances' : 'is registered'}.{' '}
                    {LOCAL_FALLBACK_WARNING}
                  </p>
                ) : null}
              </section>
            )
          })}
        </div>
      )}
    </>
  )
}
