import { z } from 'zod'
import type { Actor } from '@/lib/auth/actor'
import { assertStaff } from '@/lib/auth/policy'
import { recordAudit } from '@/lib/audit/record-audit'
import type { DomainContext } from '@/lib/domains/domain-context'
import { conflict, notFound } from '@/lib/errors'
import { QUEUES } from '@/lib/jobs/queues'
import { toCertificateSummary } from './to-certificate'

/** Staff order a certificate now (after fixing what made it fail, or to renew early). The budget still applies. */
export async function retryCertificate(ctx: DomainContext, actor: Actor, certificateId: string) {
  assertStaff(actor)
  const cert = z.uuid().safeParse(certificateId).success
    ? await ctx.db.certificate.findUnique({ where: { id: certificateId }, include: { instance: { select: { organizationId: true } } } })
    : null
  if (!cert) throw notFound('Certificate')
  if (cert.source !== 'acme') throw conflict('An uploaded certificate is replaced by uploading its successor')
  const row = await ctx.db.$transaction(async (tx) => {
    const updated = await tx.certificate.update({
      where: { id: cert.id },
      data: {
        nextAttemptAt: null,
        attempts: cert.state === 'failed' ? 0 : cert.attempts,
        ...(cert.state === 'failed' ? { state: 'pending' } : {}),
      },
    })
    await recordAudit(tx, {
      actor,
      action: 'certificate.retried',
      targetType: 'certificate',
      targetId: cert.id,
      organizationId: cert.instance?.organizationId ?? null,
    })
    return updated
  })
  await ctx.jobs.send(QUEUES.issueCertificate.name, { certificateId: cert.id, force: true })
  return toCertificateSummary(row)
}
