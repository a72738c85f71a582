import type { TCertificateSummary, TInstanceDomains } from '@/lib/domains/schemas'

/**
 * When a certificate's next order should have run: its scheduled attempt; or, for one being ordered or due now (no
 * attempt scheduled), the time it started or became due. `dueSince` is the best such time the caller knows (a custom
 * domain's certificate is created when the domain is verified). Null: nothing is coming.
 */
export function certificateDue(c: TCertificateSummary | null, dueSince: string | null): string | null {
  if (!c) return null
  if (c.nextAttemptAt) return c.nextAttemptAt
  if (c.state === 'issuing' || c.state === 'renewing' || c.state === 'pending') return c.lastAttemptAt ?? dueSince
  return null
}

/**
 * The soonest time a job should change what the Domains section shows without announcing it (a check that finds
 * nothing, an order that fails and waits): a pending domain's next check, a certificate's next or current order. Each
 * is a stable time, so the page refreshes a few times around it and then stops (components/refresh-at.tsx).
 */
export function nextRefreshAt(data: Pick<TInstanceDomains, 'domains' | 'hostnames'>): string | null {
  const times = [
    ...data.domains.flatMap((d) => [
      d.state === 'pending' ? (d.nextCheckAt ?? d.lastCheckedAt ?? d.createdAt) : null,
      certificateDue(d.certificate, d.verifiedAt),
    ]),
    ...data.hostnames.map((h) => certificateDue(h.certificate, null)),
  ].filter((t): t is string => t !== null)
  return times.length ? times.reduce((a, b) => (Date.parse(a) <= Date.parse(b) ? a : b)) : null
}
