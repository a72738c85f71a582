import type { DomainContext } from '@/lib/domains/domain-context'
import { QUEUES } from '@/lib/jobs/queues'
import { SERVED_STATES } from './certificate-states'

export class LbKeysMissingError extends Error {
  constructor() {
    super('LB_CERTIFICATE_KEYS is not set: certificate keys cannot be sent to the load balancers')
    this.name = 'LbKeysMissingError'
  }
}

/**
 * Hands a served certificate to the load balancers (its key encrypted for the agents) and waits until they hold it;
 * the first time, the instances it serves are routed again so their hostnames name it. A renewal keeps the id, so
 * the agents only swap the certificate (at run time, no reload). Idempotent: a certificate they already hold with
 * this fingerprint is not sent again.
 */
export async function deliverCertificate(ctx: DomainContext, certificateId: string): Promise<'delivered' | 'unchanged' | 'skipped'> {
  const cert = await ctx.db.certificate.findUnique({ where: { id: certificateId } })
  if (!cert || !SERVED_STATES.includes(cert.state) || !cert.certificate || !cert.privateKey || !cert.fingerprint || !cert.notAfter)
    return 'skipped'
  if (cert.deliveredFingerprint === cert.fingerprint) return 'unchanged'
  const delivery = ctx.router.certificates
  if (delivery) {
    if (!ctx.lbBox) throw new LbKeysMissingError()
    await delivery.putCertificate({
      id: cert.id,
      certificate: cert.certificate,
      keyCiphertext: ctx.lbBox.encrypt(ctx.box.decrypt(cert.privateKey)),
      fingerprint: cert.fingerprint,
      notAfter: cert.notAfter.toISOString(),
    })
  }
  const first = cert.deliveredFingerprint === null
  await ctx.db.certificate.updateMany({
    where: { id: cert.id, fingerprint: cert.fingerprint },
    data: { deliveredFingerprint: cert.fingerprint },
  })
  if (first) await routeAgain(ctx, cert.instanceId)
  return 'delivered'
}

/** The routing of the instance a certificate serves, or of every instance for the zone's certificate, is published again. */
export async function routeAgain(ctx: Pick<DomainContext, 'jobs'>, instanceId: string | null): Promise<void> {
  if (instanceId) await ctx.jobs.send(QUEUES.publishRouting.name, { instanceId })
  else await ctx.jobs.send(QUEUES.reconcileRouting.name, {})
}
