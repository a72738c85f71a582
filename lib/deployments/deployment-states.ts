import type { DeploymentStatus } from '@/lib/db/generated/enums'
import { IllegalTransitionError } from '@/lib/appservers/appserver-states'

/**
 * The deployment lifecycle, in one table.
 *
 *   building → activating → active → superseded → terminated
 *
 * - building → failed when an appserver fails; building → cancelled when staff cancel it.
 * - superseded → building: a rollback brings a kept deployment back (its appservers are health-checked again).
 * - The database allows one building/activating and one active deployment per instance (partial unique indexes).
 */
export const DEPLOYMENT_TRANSITIONS: Record<DeploymentStatus, readonly DeploymentStatus[]> = {
  building: ['activating', 'failed', 'cancelled'],
  activating: ['active', 'failed'],
  active: ['superseded', 'terminated'],
  superseded: ['building', 'terminated'],
  failed: [],
  cancelled: [],
  terminated: [],
}

export const DEPLOYMENT_STATUSES = Object.keys(DEPLOYMENT_TRANSITIONS) as DeploymentStatus[]

/** A deployment in progress: the database allows one per instance. */
export const IN_PROGRESS_STATUSES: readonly DeploymentStatus[] = ['building', 'activating']

export function canTransitionDeployment(from: DeploymentStatus, to: DeploymentStatus): boolean {
  return DEPLOYMENT_TRANSITIONS[from].includes(to)
}

export function assertDeploymentTransition(from: DeploymentStatus, to: DeploymentStatus): void {
  if (!canTransitionDeployment(from, to)) throw new IllegalTransitionError('deployment', from, to)
}
