import { Trash2 } from 'lucide-react'
import type { TCluster } from '@/lib/clusters/schemas'
import { AcceptsNewToggle, TestClusterButton } from './cluster-actions'
import { clusterAddress, type ConnectionDefaults } from './cluster-fields'
import { ClusterFormDialog } from './cluster-form'
import { ConfirmPost } from './confirm-post'
import { formatDateTime } from './format'
import { RESOURCE_KIND_LABEL } from './resource-kinds'
import { Badge } from './ui/badge'
import { Table, TBody, TD, TH, THead, TR } from './ui/table'

function LastTest({ cluster }: { cluster: TCluster }) {
  if (!cluster.lastTestedAt) return <span className="text-neutral-500">Never tested</span>
  return (
    <div className="space-y-0.5" data-testid={`cluster-last-test-${cluster.name}`} data-ok={cluster.lastTestError === null}>
      {cluster.lastTestError === null ? <Badge variant="green">passed</Badge> : <Badge variant="red">failed</Badge>}
      <p className="text-xs whitespace-nowrap text-neutral-500">{formatDateTime(cluster.lastTestedAt)}</p>
      {cluster.lastTestError ? <p className="max-w-xs text-xs break-words text-red-700">{cluster.lastTestError}</p> : null}
    </div>
  )
}

/** One kind's clusters: where each is, how many live resources it holds, whether it takes new instances, its last test. */
export function ClusterList({ clusters, defaults }: { clusters: TCluster[]; defaults: ConnectionDefaults }) {
  const kind = clusters[0]?.kind
  return (
    <Table aria-label={kind ? `${RESOURCE_KIND_LABEL[kind]} clusters` : 'Clusters'}>
      <THead>
        <tr>
          <TH>Name</TH>
          <TH>Address</TH>
          <TH className="text-right">Load</TH>
          <TH>Accepts new instances</TH>
          <TH>Last connection test</TH>
          <TH>
            <span className="sr-only">Actions</span>
          </TH>
        </tr>
      </THead>
      <TBody>
        {clusters.map((c) => (
          <TR key={c.id} data-testid={`cluster-${c.name}`}>
            <TD className="font-mono font-medium">{c.name}</TD>
            <TD className="font-mono text-xs break-all">{clusterAddress(c)}</TD>
            <TD className="text-right tabular-nums" data-testid={`cluster-load-${c.name}`} title="Live resources placed on this cluster">
              {c.load}
            </TD>
            <TD data-testid={`cluster-accepts-${c.name}`}>
              {c.acceptsNew ? <Badge variant="green">yes</Badge> : <Badge variant="neutral">no</Badge>}
            </TD>
            <TD>
              <LastTest cluster={c} />
            </TD>
            <TD>
              <div className="flex flex-wrap items-start justify-end gap-1">
                <TestClusterButton id={c.id} name={c.name} />
                <ClusterFormDialog mode="edit" cluster={c} defaults={defaults} />
                <AcceptsNewToggle id={c.id} name={c.name} version={c.version} acceptsNew={c.acceptsNew} />
                <ConfirmPost
                  method="DELETE"
                  trigger={
                    <>
                      <Trash2 aria-hidden /> Delete
                    </>
                  }
                  triggerLabel={`Delete ${c.name}`}
                  triggerVariant="ghost"
                  triggerSize="sm"
                  triggerClassName="text-red-700 hover:bg-red-50 hover:text-red-800"
                  title={`Delete ${c.name}?`}
                  description={
                    c.load > 0
                      ? `It still holds ${c.load} live resource${c.load === 1 ? '' : 's'}: the API refuses until they are gone. To stop placing new instances here, use “Stop accepting” instead.`
                      : 'Tenon forgets this cluster and its stored credentials. Nothing on the cluster itself is touched.'
                  }
                  confirmLabel="Delete cluster"
                  destructive
                  path={`/api/v1/clusters/${c.id}`}
                />
              </div>
            </TD>
          </TR>
        ))}
      </TBody>
    </Table>
  )
}
