import type { Certificate } from '@/lib/db/generated/client'
import type { TCertificateSummary } from '@/lib/domains/schemas'
import { scopeOf } from './certificate-refs'

const iso = (d: Date | null) => (d ? d.toISOString() : null)

/** A certificate as the API shows it: never the private key, nor the PEM (the load balancers serve that anyway). */
export function toCertificateSummary(c: Certificate): TCertificateSummary {
  return {
    id: c.id,
    source: c.source,
    scope: scopeOf(c),
    state: c.state,
    hostnames: c.hostnames,
    issuer: c.issuer,
    notAfter: iso(c.notAfter),
    fingerprint: c.fingerprint,
    lastAttemptAt: iso(c.lastAttemptAt),
    lastError: c.lastError,
    nextAttemptAt: iso(c.nextAttemptAt),
    renewAt: iso(c.renewAt),
  }
}
