import type { Db } from '@/lib/db/client'
import type { DomainContext } from '@/lib/domains/domain-context'
import { QUEUES } from '@/lib/jobs/queues'
import { raiseCertificateAlert } from './alerts'
import { unitInterval } from './renewal-schedule'

export interface RenewalSweep {
  /** certificate.issue jobs sent */
  queued: number
  /** served certificates found past their expiry, marked expired */
  expired: number
  /** uploaded certificates near expiry whose clients were told */
  notified: number
}

/** Spread of the jobs one sweep sends, so a thousand due certificates do not hit the CA in the same second. */
const SPREAD_MS = 60 * 60_000

/**
 * ACME certificates the sweep should order now (one indexed query): renewals whose time came (renewAt, inside the
 * CA's window or CERTIFICATE_RENEW_DAYS before expiry), first issuances waiting for an attempt, and expired ones —
 * none whose next attempt is still ahead (backoff, rate-limit budget) and none with an order in progress.
 */
export async function selectDueCertificates(db: Db, now: Date, limit = 10_000): Promise<{ id: string }[]> {
  return db.certificate.findMany({
    where: {
      source: 'acme',
      AND: [
        { OR: [{ nextAttemptAt: null }, { nextAttemptAt: { lte: now } }] },
        { OR: [{ leaseUntil: null }, { leaseUntil: { lt: now } }] },
        {
          OR: [
            { state: 'pending' },
            { state: { in: ['valid', 'expired'] }, renewAt: { lte: now } },
            { state: { in: ['issuing', 'renewing'] } },
          ],
        },
      ],
    },
    select: { id: true },
    orderBy: { notAfter: { sort: 'asc', nulls: 'first' } },
    take: limit,
  })
}

/**
 * The daily certificates.renew job: marks served certificates that expired, notifies clients whose uploaded
 * certificates expire within CERTIFICATE_ALERT_DAYS, and sends a certificate.issue job (jittered over an hour) for
 * every ACME certificate that is due. The issue job itself checks the budget and the lease, so a second sweep is
 * harmless.
 */
export async function renewCertificates(ctx: DomainContext): Promise<RenewalSweep> {
  const now = ctx.now()
  const expired = await ctx.db.certificate.updateMany({
    where: { state: 'valid', notAfter: { lte: now } },
    data: { state: 'expired' },
  })
  const notified = await notifyExpiringUploads(ctx, now)
  const due = ctx.config.acme ? await selectDueCertificates(ctx.db, now) : []
  for (const { id } of due) {
    await ctx.jobs.send(
      QUEUES.issueCertificate.name,
      { certificateId: id },
      { startAfter: new Date(now.getTime() + unitInterval(id) * SPREAD_MS) },
    )
  }
  return { queued: due.length, expired: expired.count, notified }
}

async function notifyExpiringUploads(ctx: DomainContext, now: Date): Promise<number> {
  const horizon = new Date(now.getTime() + ctx.config.certificates.alertDays * 86_400_000)
  const expiring = await ctx.db.certificate.findMany({
    where: { source: 'uploaded', state: { in: ['valid', 'expired'] }, notAfter: { lte: horizon } },
    include: {
      instance: {
        select: {
          organizationId: true,
          organization: { select: { memberships: { where: { role: 'owner' }, select: { user: { select: { email: true } } } } } },
        },
      },
    },
  })
  let count = 0
  for (const cert of expiring) {
    const sent = await raiseCertificateAlert(ctx, {
      kind: 'certificate.expiring',
      certificateId: cert.id,
      hostnames: cert.hostnames,
      notAfter: cert.notAfter,
      message: `The certificate you uploaded for ${cert.hostnames.join(', ')} ${
        cert.notAfter && cert.notAfter <= now ? 'has expired' : `expires on ${cert.notAfter?.toISOString().slice(0, 10)}`
      }: upload its successor, or remove it so Tenon obtains one.`,
      organizationId: cert.instance?.organizationId ?? null,
      notify: cert.instance?.organization.memberships.map((m) => m.user.email) ?? [],
    })
    if (sent) count++
  }
  return count
}
