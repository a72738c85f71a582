import { systemActor } from '@/lib/auth/actor'
import { recordAudit } from '@/lib/audit/record-audit'
import type { DomainContext } from '@/lib/domains/domain-context'
import { sendMail } from '@/lib/mail/send-mail'

export type CertificateAlertKind = 'certificate.renewal_failed' | 'certificate.issue_failed' | 'certificate.expiring'

export interface CertificateAlert {
  kind: CertificateAlertKind
  certificateId: string
  hostnames: string[]
  notAfter: Date | null
  message: string
  /** the instance's organization (null: the hosting zone's certificate, staff only) */
  organizationId: string | null
  /** owners of that organization, who hear about their own uploaded certificates */
  notify?: string[]
}

const ALERT_INTERVAL_MS = 24 * 3_600_000

/**
 * Raises a certificate alert at most once a day per certificate: an audit entry (the console's banner and live
 * updates read it), then the optional webhook and emails. The audit entry is the alert; a webhook or mail that
 * fails is logged and does not undo it.
 */
export async function raiseCertificateAlert(ctx: DomainContext, alert: CertificateAlert): Promise<boolean> {
  const now = ctx.now()
  const claimed = await ctx.db.$transaction(async (tx) => {
    const updated = await tx.certificate.updateMany({
      where: { id: alert.certificateId, OR: [{ alertedAt: null }, { alertedAt: { lt: new Date(now.getTime() - ALERT_INTERVAL_MS) } }] },
      data: { alertedAt: now },
    })
    if (!updated.count) return false
    await recordAudit(tx, {
      actor: systemActor('certificates'),
      action: alert.kind,
      targetType: 'certificate',
      targetId: alert.certificateId,
      organizationId: alert.organizationId,
      after: { hostnames: alert.hostnames, notAfter: alert.notAfter?.toISOString() ?? null, message: alert.message },
    })
    return true
  })
  if (!claimed) return false
  const subject = `[Tenon] ${alert.kind === 'certificate.expiring' ? 'Certificate expiring' : 'Certificate not renewed'}: ${alert.hostnames[0] ?? alert.certificateId}`
  const text = [
    alert.message,
    '',
    `Names: ${alert.hostnames.join(', ')}`,
    `Expires: ${alert.notAfter ? alert.notAfter.toISOString() : 'no certificate yet'}`,
    `Certificate: ${ctx.config.publicUrl}/certificates`,
  ].join('\n')
  const { webhookUrl, emails } = ctx.config.alerts
  if (webhookUrl) {
    try {
      const answer = await fetch(webhookUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ...alert, notAfter: alert.notAfter?.toISOString() ?? null, notify: undefined, at: now.toISOString() }),
        signal: AbortSignal.timeout(ctx.config.providerTimeoutMs),
      })
      if (!answer.ok) ctx.log.warn({ status: answer.status, kind: alert.kind }, 'the alert webhook refused the alert')
    } catch (err) {
      ctx.log.warn({ err: err instanceof Error ? err.message : String(err), kind: alert.kind }, 'the alert webhook is unreachable')
    }
  }
  for (const to of [...new Set([...emails, ...(alert.notify ?? [])])]) {
    try {
      await sendMail(ctx.config, { to, subject, text })
    } catch (err) {
      ctx.log.warn({ err: err instanceof Error ? err.message : String(err), kind: alert.kind }, 'an alert email could not be sent')
    }
  }
  return true
}
