import { createHash } from 'node:crypto'

/**
 * When a certificate is renewed (pure). Inside the CA's ARI window when it gives one (RFC 9773: a uniformly random
 * point of the window), otherwise from `renewDays` before expiry plus a jitter of up to a fifth of that margin, so
 * thousands of certificates issued on the same day do not all renew in the same sweep. The jitter comes from the
 * certificate's id and serial: the same certificate always gets the same time, so two sweeps agree.
 */
export function renewalTime(
  certificate: { id: string; serial: string | null; notBefore: Date; notAfter: Date },
  options: { renewDays: number; window?: { start: Date; end: Date } | null },
): Date {
  const unit = unitInterval(`${certificate.id}:${certificate.serial ?? ''}`)
  const window = options.window
  if (window && window.end.getTime() > window.start.getTime())
    return new Date(window.start.getTime() + unit * (window.end.getTime() - window.start.getTime()))
  const lifetime = certificate.notAfter.getTime() - certificate.notBefore.getTime()
  // Short-lived certificates (days, not months) renew once two thirds of their life are gone.
  const margin = Math.min(options.renewDays * 86_400_000, lifetime / 3)
  const start = certificate.notAfter.getTime() - margin
  return new Date(start + unit * (margin / 5))
}

/** A number in [0, 1) from a string, the same in every process. */
export function unitInterval(seed: string): number {
  return createHash('sha256').update(seed).digest().readUInt32BE(0) / 2 ** 32
}

/** Exponential backoff of automatic attempts (5 min doubling, at most 12 h), or the CA's Retry-After when longer. */
export function nextAttemptDelayMs(attempts: number, retryAfterMs?: number | null): number {
  const base = Math.min(5 * 60_000 * 2 ** Math.max(0, attempts - 1), 12 * 3_600_000)
  return Math.max(base, retryAfterMs ?? 0)
}

/** A failure is worth an alert when it repeats, or when the certificate expires within `alertDays`. */
export function alertDue(input: { notAfter: Date | null; attempts: number; now: Date; alertDays: number }): boolean {
  if (input.attempts >= 3) return true
  if (!input.notAfter) return false
  return input.notAfter.getTime() - input.now.getTime() <= input.alertDays * 86_400_000
}
