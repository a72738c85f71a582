import { z } from 'zod'
import type { Actor } from '@/lib/auth/actor'
import { recordAudit } from '@/lib/audit/record-audit'
import type { DomainContext } from '@/lib/domains/domain-context'
import { findReadableDomain } from '@/lib/domains/manage-domains'
import { conflict, invalidInput } from '@/lib/errors'
import { QUEUES } from '@/lib/jobs/queues'
import { deliverCertificate } from './deliver-certificate'
import { inspectUpload, MAX_UPLOAD_BYTES, type CertificateUpload } from './inspect-upload'
import { toCertificateSummary } from './to-certificate'

/** The upload as JSON: PEM text fields, or a PKCS#12 bundle in base64 with its password. */
export const ZUploadCertificateBody = z.discriminatedUnion('format', [
  z.object({
    format: z.literal('pem'),
    certificate: z.string().describe('The certificate, PEM; may be followed by its chain'),
    chain: z.string().optional().describe('The intermediate certificates, PEM'),
    privateKey: z.string().describe('The private key, PEM, without a passphrase'),
  }),
  z.object({
    format: z.literal('pkcs12'),
    bundle: z.string().describe('The .pfx/.p12 file, base64'),
    password: z.string().describe('The password the bundle was exported with'),
  }),
])
export type TUploadCertificateBody = z.infer<typeof ZUploadCertificateBody>

function toUpload(body: TUploadCertificateBody): CertificateUpload {
  if (body.format === 'pem') return body
  const text = body.bundle.replace(/\s+/g, '')
  if (text.length > Math.ceil((MAX_UPLOAD_BYTES * 4) / 3) + 4) throw invalidInput([{ field: 'bundle', message: 'is larger than 64 KiB' }])
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) throw invalidInput([{ field: 'bundle', message: 'must be the file in base64' }])
  return { format: 'pkcs12', bundle: Buffer.from(text, 'base64'), password: body.password }
}

/**
 * A client's own certificate for one of their custom domains. Checked completely before anything is stored (each
 * problem named), the key encrypted at rest; it replaces any earlier certificate of that domain (ACME or uploaded,
 * whose orders stop), and reaches the load balancers before the domain's routing names it.
 */
export async function uploadCertificate(ctx: DomainContext, actor: Actor, domainId: string, body: TUploadCertificateBody) {
  const domain = await findReadableDomain(ctx.db, actor, domainId)
  if (domain.instance.status === 'archived') throw conflict('The instance is archived')
  const inspected = inspectUpload(toUpload(body), { hostname: domain.hostname, now: ctx.now() })
  const { created, replaced } = await ctx.db.$transaction(async (tx) => {
    const previous = await tx.certificate.findMany({ where: { domainId: domain.id }, select: { id: true } })
    await tx.certificate.deleteMany({ where: { domainId: domain.id } })
    const row = await tx.certificate.create({
      data: {
        source: 'uploaded',
        instanceId: domain.instanceId,
        domainId: domain.id,
        hostnames: inspected.hostnames,
        state: 'valid',
        certificate: inspected.certificate,
        privateKey: ctx.box.encrypt(inspected.privateKey),
        fingerprint: inspected.fingerprint,
        serial: inspected.serial,
        issuer: inspected.issuer,
        notBefore: new Date(inspected.notBefore),
        notAfter: new Date(inspected.notAfter),
        issuedAt: ctx.now(),
      },
    })
    await recordAudit(tx, {
      actor,
      action: 'certificate.uploaded',
      targetType: 'certificate',
      targetId: row.id,
      organizationId: domain.instance.organizationId,
      after: { hostname: domain.hostname, issuer: inspected.issuer, notAfter: inspected.notAfter, fingerprint: inspected.fingerprint },
    })
    return { created: row, replaced: previous }
  })
  // Delivered now when the load balancers answer; otherwise a job tries again.
  await deliverCertificate(ctx, created.id).catch(async (err: unknown) => {
    ctx.log.warn(
      { certificateId: created.id, err: err instanceof Error ? err.message : String(err) },
      'uploaded certificate not yet delivered',
    )
    await ctx.jobs.send(QUEUES.deliverCertificate.name, { certificateId: created.id })
  })
  for (const old of replaced) await ctx.jobs.send(QUEUES.removeCertificate.name, { certificateId: old.id, instanceId: domain.instanceId })
  return toCertificateSummary(created)
}
