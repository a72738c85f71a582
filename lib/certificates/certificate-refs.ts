import type { RoutedCertificateRef } from '@/provisioners/types'
import { nameCovers } from './hostname-match'

/** A certificate the load balancers hold, as the routing sees it. */
export interface ServedCertificate {
  id: string
  /** the names on the certificate, wildcards included */
  hostnames: string[]
  /** zone: the hosting zone's wildcard; instance: an instance's own; custom: a client's domain (ACME or uploaded) */
  scope: 'zone' | 'instance' | 'custom'
  notAfter: Date
}

const PREFERENCE: Record<ServedCertificate['scope'], number> = { custom: 0, instance: 1, zone: 2 }

/**
 * Which certificate serves each of an instance's hostnames (pure): one that names the hostname exactly before one
 * that covers it by a wildcard, a client's own before the instance's before the zone's, then the one valid longest.
 * Hostnames no certificate covers are left out (served over HTTP only).
 */
export function certificateRefs(hostnames: readonly string[], certificates: readonly ServedCertificate[]): RoutedCertificateRef[] {
  const chosen = new Map<string, string[]>()
  for (const hostname of hostnames) {
    const host = hostname.toLowerCase()
    let best: { cert: ServedCertificate; exact: boolean } | undefined
    for (const cert of certificates) {
      const exact = cert.hostnames.some((h) => h.toLowerCase() === host)
      if (!exact && !cert.hostnames.some((pattern) => nameCovers(pattern, host))) continue
      if (!best || better({ cert, exact }, best)) best = { cert, exact }
    }
    if (best) chosen.set(best.cert.id, [...(chosen.get(best.cert.id) ?? []), host])
  }
  return [...chosen.entries()].map(([id, names]) => ({ id, hostnames: names.sort() })).sort((a, b) => a.id.localeCompare(b.id))
}

function better(a: { cert: ServedCertificate; exact: boolean }, b: { cert: ServedCertificate; exact: boolean }): boolean {
  if (a.exact !== b.exact) return a.exact
  if (a.cert.scope !== b.cert.scope) return PREFERENCE[a.cert.scope] < PREFERENCE[b.cert.scope]
  return a.cert.notAfter.getTime() > b.cert.notAfter.getTime()
}

/** A certificate row's scope. */
export function scopeOf(row: { instanceId: string | null; domainId: string | null }): ServedCertificate['scope'] {
  if (row.domainId) return 'custom'
  return row.instanceId ? 'instance' : 'zone'
}
