import type { Prisma } from '@/lib/db/generated/client'
import type { DomainContext } from '@/lib/domains/domain-context'
import { instanceHostname } from '@/lib/instances/to-instance'

type Tx = Prisma.TransactionClient

/**
 * The certificate strategy for the hosting zone, within Let's Encrypt's limits at thousands of instances:
 * - one wildcard certificate for the zone (ZONE and *.ZONE) by DNS-01 serves every instance's main hostname from the
 *   first minute: a new instance needs no new certificate for it;
 * - one certificate per instance (SLUG.ZONE and *.SLUG.ZONE, DNS-01) for its other hostnames (studio., apps., …),
 *   which a zone wildcard cannot cover (a wildcard stands for one label). These count against the CA's
 *   new-certificates-per-domain limit, so the budget spaces them out; until then those hostnames are served over HTTP;
 * - custom domains get their own (HTTP-01 through the load balancers, or DNS-01 when delegated) unless the client
 *   uploaded one.
 * Renewals of the same names are exempt from the per-domain limit, so the steady state costs only new instances.
 */
export function zoneCertificateNames(zone: string): string[] {
  return [zone, `*.${zone}`]
}

export function instanceCertificateNames(slug: string, zone: string): string[] {
  const host = instanceHostname(slug, zone)
  return [host, `*.${host}`]
}

/** Certificates are ordered only when there is a CA, and DNS-01 ones only with the zone's DNS provider. */
export function issuesZoneCertificates(ctx: Pick<DomainContext, 'config' | 'dns'>): boolean {
  return Boolean(ctx.config.acme && ctx.dns)
}

/** The zone's wildcard certificate row (created once; a race between two workers keeps one). */
export async function ensureZoneCertificate(ctx: DomainContext): Promise<string | null> {
  if (!issuesZoneCertificates(ctx)) return null
  const existing = await ctx.db.certificate.findFirst({ where: { source: 'acme', instanceId: null, domainId: null }, select: { id: true } })
  if (existing) return existing.id
  return ctx.db.$transaction(async (tx) => {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext('tenon:zone-certificate'))`
    const again = await tx.certificate.findFirst({ where: { source: 'acme', instanceId: null, domainId: null }, select: { id: true } })
    if (again) return again.id
    const created = await tx.certificate.create({
      data: { source: 'acme', hostnames: zoneCertificateNames(ctx.config.hostingZone), challenge: 'dns-01' },
    })
    return created.id
  })
}

/** An instance's own certificate row, in the caller's transaction; null when certificates are not issued here. */
export async function ensureInstanceCertificate(
  tx: Tx,
  ctx: Pick<DomainContext, 'config' | 'dns'>,
  instance: { id: string; slug: string },
): Promise<string | null> {
  if (!issuesZoneCertificates(ctx)) return null
  const existing = await tx.certificate.findFirst({ where: { instanceId: instance.id, domainId: null }, select: { id: true } })
  if (existing) return existing.id
  const created = await tx.certificate.create({
    data: {
      source: 'acme',
      instanceId: instance.id,
      hostnames: instanceCertificateNames(instance.slug, ctx.config.hostingZone),
      challenge: 'dns-01',
    },
  })
  return created.id
}

/** A verified custom domain's ACME certificate row, unless it has one (ACME or uploaded). */
export async function ensureDomainCertificate(
  tx: Tx,
  ctx: Pick<DomainContext, 'config'>,
  domain: { id: string; instanceId: string; hostname: string; acmeDelegated: boolean },
): Promise<string | null> {
  if (!ctx.config.acme) return null
  const existing = await tx.certificate.findFirst({ where: { domainId: domain.id }, select: { id: true } })
  if (existing) return null
  const created = await tx.certificate.create({
    data: {
      source: 'acme',
      instanceId: domain.instanceId,
      domainId: domain.id,
      hostnames: [domain.hostname],
      challenge: domain.acmeDelegated ? 'dns-01' : 'http-01',
    },
  })
  return created.id
}
