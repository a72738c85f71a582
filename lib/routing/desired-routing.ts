import type { AppserverState, DeploymentStatus } from '@/lib/db/generated/enums'
import type { DesiredRouting, RoutedCertificateRef, RoutingBackend } from '@/provisioners/types'

export interface RoutingAppserver {
  id: string
  state: AppserverState
  address: string | null
  deploymentStatus: DeploymentStatus
}

/**
 * Where an instance's traffic goes, from its appservers (pure). While a deployment is activating, its
 * healthy appservers take new requests and the current active ones drain; otherwise the active deployment's
 * appservers take them and replaced ones drain until their grace period ends. No active backend: maintenance.
 */
export function desiredRouting(
  instance: {
    id: string
    slug: string
    hostnames: string[]
    healthPath: string
    archived: boolean
    certificates?: RoutedCertificateRef[]
  },
  appservers: RoutingAppserver[],
): DesiredRouting {
  const activating = appservers.some((a) => a.deploymentStatus === 'activating')
  const backends: RoutingBackend[] = []
  if (!instance.archived) {
    for (const a of appservers) {
      if (!a.address) continue
      const role = roleOf(a, activating)
      if (role) backends.push({ appserverId: a.id, address: a.address, role })
    }
  }
  backends.sort((x, y) => (x.role === y.role ? x.appserverId.localeCompare(y.appserverId) : x.role === 'active' ? -1 : 1))
  return {
    instanceId: instance.id,
    slug: instance.slug,
    hostnames: instance.hostnames,
    backends,
    healthPath: instance.healthPath,
    maintenance: !backends.some((b) => b.role === 'active'),
    certificates: instance.archived ? [] : (instance.certificates ?? []),
  }
}

function roleOf(a: RoutingAppserver, activating: boolean): RoutingBackend['role'] | undefined {
  if (activating) {
    if (a.deploymentStatus === 'activating' && (a.state === 'healthy' || a.state === 'active')) return 'active'
    if (a.state === 'active' || a.state === 'draining') return 'draining'
    return undefined
  }
  if (a.state === 'active') return 'active'
  if (a.state === 'draining') return 'draining'
  return undefined
}
