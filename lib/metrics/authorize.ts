import { createHash, timingSafeEqual } from 'node:crypto'

/** Whether a scrape may read the metrics: always without a configured token, else only with that bearer token. */
export function metricsScrapeAllowed(authorization: string | null, metricsToken: string | undefined): boolean {
  if (!metricsToken) return true
  const given = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1]
  if (!given) return false
  // Compare digests so the comparison takes the same time whatever the length of the guess.
  const digest = (v: string) => createHash('sha256').update(v).digest()
  return timingSafeEqual(digest(given), digest(metricsToken))
}
