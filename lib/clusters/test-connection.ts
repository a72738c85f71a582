import type { ClusterConnection } from './cluster-settings'
import { createResourceProvisioner } from '@/provisioners/resources'
import { ProvisionerError } from '@/provisioners/types'

/** Tries a cluster's administrator connection; answers the problem in words (never with a secret), or null when it works. */
export async function tryConnection(cluster: ClusterConnection, opts: { ownerTag: string; timeoutMs: number }): Promise<string | null> {
  const provisioner = createResourceProvisioner(cluster, opts)
  try {
    await provisioner.testConnection()
    return null
  } catch (err) {
    return err instanceof ProvisionerError ? err.message : `connection test failed: ${err instanceof Error ? err.name : 'unknown error'}`
  } finally {
    await provisioner.close().catch(() => undefined)
  }
}
