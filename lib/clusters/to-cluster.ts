import type { Cluster } from '@/lib/db/generated/client'
import { SECRET_FIELDS } from './cluster-settings'
import type { TCluster } from './schemas'

/** A cluster as the API shows it (staff only): settings without secrets, and how many live resources it holds. */
export function toCluster(row: Cluster, load: number): TCluster {
  return {
    id: row.id,
    kind: row.kind,
    name: row.name,
    acceptsNew: row.acceptsNew,
    connection: row.settings as Record<string, unknown>,
    secretFields: [...SECRET_FIELDS[row.kind]],
    load,
    lastTestedAt: row.lastTestedAt?.toISOString() ?? null,
    lastTestError: row.lastTestError,
    version: row.version,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  }
}
