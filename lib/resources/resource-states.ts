import type { ResourceState } from '@/lib/db/generated/enums'

/**
 * The resource lifecycle, as a table. provisioning → ready is the ensure job; ready ↔ retained is archive and
 * restore; retained → destroying → destroyed is the purge after the retention period (or "destroy now").
 * A failed resource is retried by a person (→ provisioning) or destroyed with its instance.
 */
export const RESOURCE_TRANSITIONS: Record<ResourceState, readonly ResourceState[]> = {
  provisioning: ['ready', 'failed', 'retained', 'destroying'],
  ready: ['provisioning', 'retained', 'destroying'],
  failed: ['provisioning', 'retained', 'destroying'],
  retained: ['provisioning', 'ready', 'destroying'],
  destroying: ['destroyed'],
  destroyed: [],
}

export const canTransition = (from: ResourceState, to: ResourceState): boolean => RESOURCE_TRANSITIONS[from].includes(to)

/** States in which the resource's objects may exist on the cluster (the reconciler keeps their names). */
export const LIVE_STATES: readonly ResourceState[] = ['provisioning', 'ready', 'failed', 'retained', 'destroying']
