import type { Logger } from 'pino'
import type { Config } from '@/lib/config'
import type { Db } from '@/lib/db/client'
import type { Cluster } from '@/lib/db/generated/client'
import type { JobSender } from '@/lib/jobs/send'
import type { SecretBox } from '@/lib/secrets'
import { clusterConnection } from '@/lib/clusters/cluster-connection'
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
