import type { Logger } from 'pino'
import type { Config } from '@/lib/config'
import type { Db } from '@/lib/db/client'
import type { Cluster } from '@/lib/db/generated/client'
import type { JobSender } from '@/lib/jobs/send'
import { openJson, type SecretBox } from '@/lib/secrets'
import { parseConnection, type ClusterConnection } from '@/lib/clusters/cluster-settings'
import { createResourceProvisioner, type ResourceClusterSettings } from '@/provisioners/resources'
import type { ResourceProvisioner } from '@/provisioners/types'

/** What the resource jobs and actions need, built once per process and passed down (testable with real services). */
export interface ResourceContext {
  db: Db
  config: Config
  box: SecretBox
  jobs: JobSender
  log: Logger
  now(): Date
  /** The provisioner for a cluster, cached per cluster version (a settings change makes a new one). */
  provisioner(cluster: Cluster): ResourceProvisioner
  /** Closes every cached provisioner's connections. */
  close(): Promise<void>
}

/** A stored cluster's connection: its settings with the secrets decrypted, parsed again by its kind's schema. */
export function clusterConnection(box: SecretBox, cluster: Pick<Cluster, 'kind' | 'settings' | 'secrets'>): ClusterConnection {
  const merged = { ...(cluster.settings as Record<string, unknown>), ...openJson<Record<string, unknown>>(box, cluster.secrets) }
  const parsed = parseConnection(cluster.kind, merged)
  if (!parsed.ok)
    throw new Error(`cluster settings no longer valid: ${parsed.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`)
  return parsed.cluster
}

export function createResourceContext(deps: Omit<ResourceContext, 'provisioner' | 'close'>): ResourceContext {
  const cache = new Map<string, { version: number; provisioner: ResourceProvisioner }>()
  return {
    ...deps,
    provisioner(cluster) {
      const cached = cache.get(cluster.id)
      if (cached && cached.version === cluster.version) return cached.provisioner
      if (cached) void cached.provisioner.close().catch((err: unknown) => deps.log.warn({ err }, 'closing a replaced provisioner failed'))
      const settings: ResourceClusterSettings = clusterConnection(deps.box, cluster)
      const provisioner = createResourceProvisioner(settings, { ownerTag: deps.config.ownerTag, timeoutMs: deps.config.providerTimeoutMs })
      cache.set(cluster.id, { version: cluster.version, provisioner })
      return provisioner
    },
    async close() {
      await Promise.allSettled([...cache.values()].map((c) => c.provisioner.close()))
      cache.clear()
    },
  }
}
