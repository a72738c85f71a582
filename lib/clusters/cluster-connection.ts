import type { Cluster } from '@/lib/db/generated/client'
import { openJson, type SecretBox } from '@/lib/secrets'
import { parseConnection, type ClusterConnection } from './cluster-settings'

/** A stored cluster's connection: its settings with the secrets decrypted, parsed again by its kind's schema. */
export function clusterConnection(box: SecretBox, cluster: Pick<Cluster, 'kind' | 'settings' | 'secrets'>): ClusterConnection {
  const merged = { ...(cluster.settings as Record<string, unknown>), ...openJson<Record<string, unknown>>(box, cluster.secrets) }
  const parsed = parseConnection(cluster.kind, merged)
  if (!parsed.ok)
    throw new Error(`cluster settings no longer valid: ${parsed.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`)
  return parsed.cluster
}
