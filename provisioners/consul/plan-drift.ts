import type { RoutedInstance } from './layout'

export interface ConsulDriftPlan {
  /** instance ids whose key is missing or differs from the desired routing */
  write: string[]
  /** instance ids with a key but no desired routing (archived, or gone) */
  remove: string[]
}

const comparable = (r: RoutedInstance) => JSON.stringify({ ...r, revision: 0 })

/**
 * What the reconciler must repair (pure): compares the routing Consul holds with the desired routing from the database
 * (revisions aside), and lists the services that should be registered but are not.
 */
export function planConsulDrift(
  desired: readonly RoutedInstance[],
  actual: readonly RoutedInstance[],
  registeredServices: ReadonlySet<string>,
  serviceId: (appserverId: string) => string,
): ConsulDriftPlan & { missingServices: string[] } {
  const actualById = new Map(actual.map((a) => [a.instanceId, a]))
  const desiredIds = new Set(desired.map((d) => d.instanceId))
  const write: string[] = []
  const missingServices: string[] = []
  for (const d of desired) {
    const a = actualById.get(d.instanceId)
    if (!a || comparable(a) !== comparable(d)) write.push(d.instanceId)
    else if (d.backends.some((b) => !registeredServices.has(serviceId(b.appserverId)))) missingServices.push(d.instanceId)
  }
  const remove = actual.filter((a) => !desiredIds.has(a.instanceId)).map((a) => a.instanceId)
  return { write, remove, missingServices }
}
