import type { AppserverState } from '@/lib/db/generated/enums'

/**
 * The appserver lifecycle: every allowed transition, in one table. Anything not listed is refused
 * (`assertAppserverTransition`), so a bug or a race can never move an appserver backwards unnoticed.
 *
 *   new → provisioning → configuring → starting → healthy → active → draining → inactive → terminating → terminated
 *
 * - provisioning/configuring/starting → failed (the phase and the error are recorded), then → terminating.
 * - healthy/starting → terminating when their deployment is cancelled or fails because of a sibling.
 * - inactive/draining → starting: a rollback brings a kept deployment back; it is health-checked again first.
 * - active → draining when a new deployment replaces it; active/any live state → terminating when the instance
 *   is archived or retention removes it; a VM that vanished makes a live appserver failed.
 */
export const APPSERVER_TRANSITIONS: Record<AppserverState, readonly AppserverState[]> = {
  new: ['provisioning', 'failed', 'terminating'],
  provisioning: ['configuring', 'failed', 'terminating'],
  configuring: ['starting', 'failed', 'terminating'],
  starting: ['healthy', 'failed', 'terminating'],
  healthy: ['active', 'failed', 'terminating'],
  active: ['draining', 'failed', 'terminating'],
  draining: ['inactive', 'starting', 'failed', 'terminating'],
  inactive: ['starting', 'failed', 'terminating'],
  failed: ['terminating'],
  terminating: ['terminated'],
  terminated: [],
}

export const APPSERVER_STATES = Object.keys(APPSERVER_TRANSITIONS) as AppserverState[]

/** States in which a VM may exist: the reconciler keeps VMs of these, and terminates the rest. */
export const LIVE_APPSERVER_STATES: readonly AppserverState[] = [
  'new',
  'provisioning',
  'configuring',
  'starting',
  'healthy',
  'active',
  'draining',
  'inactive',
  'failed',
  'terminating',
]

/** Phases a worker moves forward on its own (each step is a re-scheduled check, never a held worker). */
export const WORKING_APPSERVER_STATES: readonly AppserverState[] = [
  'new',
  'provisioning',
  'configuring',
  'starting',
  'draining',
  'failed',
  'terminating',
]

export function canTransitionAppserver(from: AppserverState, to: AppserverState): boolean {
  return APPSERVER_TRANSITIONS[from].includes(to)
}

export class IllegalTransitionError extends Error {
  constructor(
    readonly kind: string,
    readonly from: string,
    readonly to: string,
  ) {
    super(`${kind} cannot go from ${from} to ${to}`)
    this.name = 'IllegalTransitionError'
  }
}

export function assertAppserverTransition(from: AppserverState, to: AppserverState): void {
  if (!canTransitionAppserver(from, to)) throw new IllegalTransitionError('appserver', from, to)
}
