import type { CertificateState, DomainState } from '@/lib/db/generated/enums'

/**
 * The certificate lifecycle, as a table. An ACME certificate goes pending → issuing → valid; renewals go
 * valid → renewing → valid, and a failed renewal falls back to valid (the old certificate is still served) with the
 * next attempt scheduled. A first issuance that cannot succeed without a person ends in failed; a person's retry
 * takes it back to pending. Uploaded certificates are only ever valid or expired.
 */
export const CERTIFICATE_TRANSITIONS: Record<CertificateState, readonly CertificateState[]> = {
  pending: ['issuing', 'failed'],
  issuing: ['valid', 'pending', 'failed'],
  valid: ['renewing', 'expired'],
  renewing: ['valid', 'expired'],
  failed: ['pending', 'issuing'],
  expired: ['renewing', 'pending'],
}

export const canTransition = (from: CertificateState, to: CertificateState): boolean => CERTIFICATE_TRANSITIONS[from].includes(to)

/** States in which the certificate has a PEM the load balancers serve. */
export const SERVED_STATES: readonly CertificateState[] = ['valid', 'renewing']

/** The state an order starts in, from each state (null: no order may start). */
export function orderStart(state: CertificateState): 'issuing' | 'renewing' | null {
  if (state === 'pending' || state === 'failed') return 'issuing'
  if (state === 'valid' || state === 'expired') return 'renewing'
  return null
}

/** Where a failed order leaves the certificate: one that had a certificate keeps it; a first issuance waits or gives up. */
export function afterFailure(before: CertificateState, giveUp: boolean): CertificateState {
  if (before === 'valid' || before === 'renewing' || before === 'expired') return before === 'renewing' ? 'valid' : before
  return giveUp ? 'failed' : 'pending'
}

/**
 * Custom-domain verification: pending → verified when the TXT token is found, pending → expired when the period ends;
 * an expired domain checked again starts a new period (→ pending). A verified domain stays verified until removed.
 */
export const DOMAIN_TRANSITIONS: Record<DomainState, readonly DomainState[]> = {
  pending: ['verified', 'expired'],
  expired: ['pending'],
  verified: [],
}
