import type { DomainContext } from '@/lib/domains/domain-context'
import { publishRouting } from '@/lib/routing/publish-routing'

/**
 * The certificate.remove job: takes a certificate whose row is gone (domain removed, instance archived, replaced by an
 * upload) off the load balancers. The instance it served is routed again first, so no load balancer is left with a
 * hostname naming a certificate it no longer has; a certificate that still has a row is left alone.
 */
export async function removeDeliveredCertificate(
  ctx: DomainContext,
  certificateId: string,
  instanceId?: string,
): Promise<'removed' | 'kept'> {
  if (await ctx.db.certificate.findUnique({ where: { id: certificateId }, select: { id: true } })) return 'kept'
  if (instanceId) {
    const instance = await ctx.db.instance.findUnique({ where: { id: instanceId }, select: { status: true } })
    if (instance && instance.status !== 'archived') await publishRouting(ctx, instanceId)
  }
  await ctx.router.certificates?.removeCertificate(certificateId)
  return 'removed'
}
