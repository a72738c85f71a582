import type { DomainContext } from '@/lib/domains/domain-context'
import { QUEUES } from '@/lib/jobs/queues'
import { SERVED_STATES } from './certificate-states'
import { ensureDomainCertificate, ensureInstanceCertificate, ensureZoneCertificate, issuesZoneCertificates } from './ensure-certificates'

export interface CertificateDriftReport {
  created: number
  /** certificate.issue jobs sent for first issuances and retries that are due */
  queued: number
  /** served certificates the load balancers do not hold yet */
  delivered: number
  /** certificates the load balancers hold that no certificate row serves any more, removed */
  removed: number
}

/**
 * Every ten minutes: makes sure the zone's, each live instance's and each verified custom domain's certificate exist;
 * sends the orders that are due (first issuances, retries after a failure or a spent budget — the daily sweep starts
 * renewals); delivers served certificates the load balancers do not hold; removes from the load balancers
 * certificates of archived instances and removed domains.
 */
export async function reconcileCertificates(ctx: DomainContext): Promise<CertificateDriftReport> {
  const report: CertificateDriftReport = { created: 0, queued: 0, delivered: 0, removed: 0 }
  const now = ctx.now()

  // Archived instances keep no certificates (their rows cascade only when the instance row goes).
  const archived = await ctx.db.certificate.findMany({ where: { instance: { status: 'archived' } }, select: { id: true } })
  if (archived.length) await ctx.db.certificate.deleteMany({ where: { id: { in: archived.map((c) => c.id) } } })

  if (issuesZoneCertificates(ctx)) {
    await ensureZoneCertificate(ctx)
    const missing = await ctx.db.instance.findMany({
      where: { status: { not: 'archived' }, certificates: { none: { domainId: null } } },
      select: { id: true, slug: true },
      take: 1000,
    })
    for (const instance of missing) if (await ctx.db.$transaction((tx) => ensureInstanceCertificate(tx, ctx, instance))) report.created++
  }
  if (ctx.config.acme) {
    const domains = await ctx.db.domain.findMany({
      where: { state: 'verified', certificates: { none: {} }, instance: { status: { not: 'archived' } } },
      select: { id: true, instanceId: true, hostname: true, acmeDelegated: true },
    })
    for (const domain of domains) if (await ctx.db.$transaction((tx) => ensureDomainCertificate(tx, ctx, domain))) report.created++
  }

  if (ctx.config.acme) {
    const now = ctx.now()
    const due = await ctx.db.certificate.findMany({
      where: {
        source: 'acme',
        OR: [{ leaseUntil: null }, { leaseUntil: { lt: now } }],
        AND: [
          {
            OR: [
              { state: 'pending', OR: [{ nextAttemptAt: null }, { nextAttemptAt: { lte: now } }] },
              { state: { in: ['valid', 'expired'] }, nextAttemptAt: { lte: now } },
              { state: { in: ['issuing', 'renewing'] } },
            ],
          },
        ],
      },
      select: { id: true },
      take: 1000,
    })
    for (const { id } of due) await ctx.jobs.send(QUEUES.issueCertificate.name, { certificateId: id })
    report.queued = due.length
  }

  const served = await ctx.db.certificate.findMany({
    where: { state: { in: [...SERVED_STATES] } },
    select: { id: true, fingerprint: true, deliveredFingerprint: true },
  })
  for (const cert of served)
    if (cert.fingerprint !== cert.deliveredFingerprint) {
      await ctx.jobs.send(QUEUES.deliverCertificate.name, { certificateId: cert.id })
      report.delivered++
    }

  // Domain checks whose chain broke (a crash between a check and sending the next) are sent again.
  const overdue = await ctx.db.domain.findMany({
    where: { state: 'pending', nextCheckAt: { lt: new Date(now.getTime() - 5 * 60_000) } },
    select: { id: true },
    take: 1000,
  })
  for (const d of overdue) await ctx.jobs.send(QUEUES.verifyDomain.name, { domainId: d.id })

  const delivery = ctx.router.certificates
  if (delivery) {
    const known = new Set((await ctx.db.certificate.findMany({ select: { id: true } })).map((c) => c.id))
    for (const held of await delivery.listCertificates()) {
      if (known.has(held.id)) continue
      await ctx.jobs.send(QUEUES.removeCertificate.name, { certificateId: held.id })
      report.removed++
    }
  }
  return report
}
