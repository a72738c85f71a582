import type { Actor } from '@/lib/auth/actor'
import { certificateRefs, scopeOf } from '@/lib/certificates/certificate-refs'
import { SERVED_STATES } from '@/lib/certificates/certificate-states'
import { toCertificateSummary } from '@/lib/certificates/to-certificate'
import { getBlueprint } from '@/lib/blueprints'
import type { Config } from '@/lib/config'
import type { Db } from '@/lib/db/client'
import { relativeName } from '@/lib/dns/plan-records'
import { findReadableInstance } from '@/lib/instances/get-instance'
import type { TInstanceDomains } from './schemas'
import { toDomain } from './to-domain'

/**
 * An instance's Domains tab: its own hostnames under the hosting zone (DNS state, the certificate serving each) and
 * its custom domains (verification, records to create, certificate). Readable by the instance's organization.
 */
export async function listInstanceDomains(
  db: Db,
  config: Pick<Config, 'hostingZone' | 'dns' | 'acme'>,
  actor: Actor,
  instanceId: string,
): Promise<TInstanceDomains> {
  const instance = await findReadableInstance(db, actor, instanceId)
  const [domains, certificates, records] = await Promise.all([
    db.domain.findMany({ where: { instanceId }, orderBy: { createdAt: 'asc' } }),
    db.certificate.findMany({ where: { OR: [{ instanceId }, { instanceId: null, domainId: null }] } }),
    db.dnsRecord.findMany({ where: { instanceId } }),
  ])
  const own = getBlueprint(instance.blueprint).hostnames(instance, config.hostingZone)
  const served = certificates.filter((c) => SERVED_STATES.includes(c.state) && c.notAfter)
  const refs = certificateRefs(
    own.map((h) => h.hostname),
    served.map((c) => ({ id: c.id, hostnames: c.hostnames, scope: scopeOf(c), notAfter: c.notAfter! })),
  )
  const byId = new Map(certificates.map((c) => [c.id, c]))
  const instanceCert = certificates.find((c) => c.instanceId === instanceId && !c.domainId)
  return {
    hostnames: own.map((h) => {
      const ref = refs.find((r) => r.hostnames.includes(h.hostname))
      const name = relativeName(h.hostname, config.hostingZone)
      const rows = records.filter((r) => r.name === name)
      const failed = rows.find((r) => r.state === 'failed')
      const dnsState = !config.dns
        ? 'unmanaged'
        : failed
          ? 'failed'
          : rows.some((r) => r.state === 'deleting')
            ? 'deleting'
            : rows.length && rows.every((r) => r.state === 'synced')
              ? 'synced'
              : 'pending'
      // A hostname no served certificate covers yet shows the certificate on its way (the instance's own).
      const cert = ref ? byId.get(ref.id) : h.role === 'lms' ? undefined : instanceCert
      return {
        hostname: h.hostname,
        role: h.role,
        dnsState,
        dnsError: failed?.lastError ?? null,
        certificate: cert ? toCertificateSummary(cert) : null,
      }
    }),
    domains: domains.map((d) => toDomain(d, instance, config.hostingZone, certificates)),
    acme: Boolean(config.acme),
  }
}
