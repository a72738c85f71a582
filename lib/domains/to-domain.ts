import type { Certificate, Domain } from '@/lib/db/generated/client'
import { toCertificateSummary } from '@/lib/certificates/to-certificate'
import { delegationTarget } from '@/lib/certificates/solvers'
import { instanceHostname } from '@/lib/instances/to-instance'
import { verificationRecordName } from './hostname'
import type { TDomain } from './schemas'

const iso = (d: Date | null) => (d ? d.toISOString() : null)

/** A custom domain with the records its client creates, and the certificate that serves it. */
export function toDomain(d: Domain, instance: { slug: string }, hostingZone: string, certificates: Certificate[]): TDomain {
  const served = certificates.find((c) => c.domainId === d.id && c.source === 'uploaded') ?? certificates.find((c) => c.domainId === d.id)
  return {
    id: d.id,
    instanceId: d.instanceId,
    hostname: d.hostname,
    state: d.state,
    verificationExpiresAt: d.verificationExpiresAt.toISOString(),
    verifiedAt: iso(d.verifiedAt),
    lastCheckedAt: iso(d.lastCheckedAt),
    nextCheckAt: iso(d.nextCheckAt),
    lastCheckError: d.lastCheckError,
    pointsHere: d.pointsHere,
    acmeDelegated: d.acmeDelegated,
    records: [
      {
        type: 'TXT',
        name: verificationRecordName(d.hostname),
        value: d.verificationToken,
        purpose: 'Proves you control this domain',
        required: true,
      },
      {
        type: 'CNAME',
        name: d.hostname,
        value: instanceHostname(instance.slug, hostingZone),
        purpose: 'Sends visitors to your instance (for a bare domain, point its A/AAAA records at the same addresses instead)',
        required: true,
      },
      {
        type: 'CNAME',
        name: `_acme-challenge.${d.hostname}`,
        value: delegationTarget(d.id, hostingZone),
        purpose: 'Optional: lets Tenon obtain the certificate by DNS before traffic is moved',
        required: false,
      },
    ],
    certificate: served ? toCertificateSummary(served) : null,
    createdAt: d.createdAt.toISOString(),
  }
}
