import { ProvisionerError } from '@/provisioners/types'

export interface ResourceFailure {
  message: string
  retryable: boolean
}

/** A provisioner's error as stored on the resource; anything unexpected is retryable and logged in full by the caller. */
export function toFailure(err: unknown): ResourceFailure {
  if (err instanceof ProvisionerError) return { message: err.message, retryable: err.retryable }
  return { message: err instanceof Error ? err.message : String(err), retryable: true }
}

/** Backoff before automatic attempt n (1-based): 10 s, 20 s, 40 s … capped at 10 minutes. */
export function retryDelayMs(attempt: number): number {
  return Math.min(10_000 * 2 ** Math.max(attempt - 1, 0), 10 * 60_000)
}

/** Whether a failed attempt is tried again automatically, or the resource waits for a person. */
export function decideRetry(
  failure: ResourceFailure,
  attempts: number,
  retryLimit: number,
): { retry: true; delayMs: number } | { retry: false } {
  return failure.retryable && attempts <= retryLimit ? { retry: true, delayMs: retryDelayMs(attempts) } : { retry: false }
}
