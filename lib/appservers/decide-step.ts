import type { AppserverState } from '@/lib/db/generated/enums'
import type { ConfigureProgress, VmObservation } from '@/provisioners/types'
import type { HealthResult } from './health-check'

/**
 * What an appserver step does next, decided from what the outside world answered. Pure: the effects
 * (driver calls, the database) live in advance-appserver.ts.
 */
export type StepDecision =
  | { kind: 'transition'; to: AppserverState; message: string; address?: string; error?: string }
  /** look again after `ms` (the worker is released meanwhile) */
  | { kind: 'wait'; ms: number; note?: string }
  /** nothing to do until something else happens (activation, rollback, retention) */
  | { kind: 'idle' }

export interface Timing {
  now: Date
  /** when the current phase gives up; null = never */
  deadline: Date | null
  /** how long to wait before looking again */
  retryMs: number
}

const overdue = (t: Timing) => t.deadline !== null && t.now.getTime() >= t.deadline.getTime()

/** Waits, or fails the phase if its deadline passed. */
function waitOrFail(t: Timing, phase: string, note: string): StepDecision {
  if (overdue(t))
    return {
      kind: 'transition',
      to: 'failed',
      message: `${phase} did not finish before its deadline: ${note}`,
      error: `${phase} timed out: ${note}`,
    }
  const untilDeadline = t.deadline ? t.deadline.getTime() - t.now.getTime() : Infinity
  return { kind: 'wait', ms: Math.max(1, Math.min(t.retryMs, untilDeadline)), note }
}

/** provisioning: the VM was created; is it running yet? */
export function decideProvisioning(obs: VmObservation, t: Timing): StepDecision {
  switch (obs.phase) {
    case 'running':
      if (!obs.address) return waitOrFail(t, 'provisioning', 'running, waiting for an address')
      // The address goes to the staff-only log lines, not into the transition clients read.
      return { kind: 'transition', to: 'configuring', message: 'VM running', address: obs.address }
    case 'pending':
      return waitOrFail(t, 'provisioning', obs.detail ?? 'booting')
    case 'failed':
      return { kind: 'transition', to: 'failed', message: `VM failed: ${obs.detail ?? 'no detail'}`, error: obs.detail ?? 'the VM failed' }
    case 'gone':
      return { kind: 'transition', to: 'failed', message: 'VM vanished while provisioning', error: 'the VM vanished while provisioning' }
  }
}

/** configuring: Ansible (or nothing) runs on the VM. */
export function decideConfiguring(progress: ConfigureProgress, t: Timing): StepDecision {
  switch (progress.state) {
    case 'done':
      return { kind: 'transition', to: 'starting', message: 'configured; waiting for the health check' }
    case 'running':
      return waitOrFail(t, 'configuring', 'configuration running')
    case 'failed':
      return { kind: 'transition', to: 'failed', message: `configuration failed: ${progress.error}`, error: progress.error }
  }
}

/** starting: health checks until one passes or the deadline. */
export function decideStarting(health: HealthResult, t: Timing): StepDecision {
  if (health.ok) return { kind: 'transition', to: 'healthy', message: `health check passed (${health.detail})` }
  return waitOrFail(t, 'starting', `health check failed: ${health.detail}`)
}

/** draining: keep serving open requests until the grace period ends. */
export function decideDraining(drainUntil: Date | null, now: Date): StepDecision {
  if (!drainUntil || now.getTime() >= drainUntil.getTime())
    return { kind: 'transition', to: 'inactive', message: 'drained; kept for rollback' }
  return { kind: 'wait', ms: drainUntil.getTime() - now.getTime(), note: 'draining' }
}

/**
 * A driver call threw. A retryable error (timeout, 429, 5xx, quota) is tried again until the phase's
 * deadline; any other error fails the appserver at once, with the phase it was in.
 */
export function decideDriverError(err: { message: string; retryable: boolean }, phase: AppserverState, t: Timing): StepDecision {
  if (phase === 'terminating') return { kind: 'wait', ms: t.retryMs, note: `destroy failed, will retry: ${err.message}` }
  if (!err.retryable) return { kind: 'transition', to: 'failed', message: `${phase} failed: ${err.message}`, error: err.message }
  return waitOrFail(t, phase, `will retry: ${err.message}`)
}

/** Backoff for retries of a failing destroy: doubles up to a cap. */
export function retryDelay(baseMs: number, attempt: number, capMs = 5 * 60_000): number {
  return Math.min(capMs, baseMs * 2 ** Math.min(attempt, 16))
}
