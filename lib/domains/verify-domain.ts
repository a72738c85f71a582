import { systemActor } from '@/lib/auth/actor'
import { recordAudit } from '@/lib/audit/record-audit'
import { routeAgain } from '@/lib/certificates/deliver-certificate'
import { ensureDomainCertificate } from '@/lib/certificates/ensure-certificates'
import { delegationTarget } from '@/lib/certificates/solvers'
import { isUniqueViolationOf } from '@/lib/db/errors'
import { instanceHostname } from '@/lib/instances/to-instance'
import { QUEUES } from '@/lib/jobs/queues'
import type { DomainContext } from './domain-context'
import { verificationDelayMs, verificationRecordName } from './hostname'

export type VerifyOutcome = 'verified' | 'not-found' | 'expired' | 'in-use' | 'not-due' | 'gone'

/**
 * The domain.verify job: looks for the ownership token in TXT _tenon-challenge.<hostname> through DNS_RESOLVERS.
 * Found: the domain is verified (unless another instance verified the name first), routed, and its certificate is
 * ordered. Not found: checked again later with backoff until the verification period ends. Each run sends the next,
 * and the certificates reconciler re-sends checks that are overdue, so a crash never stops the chain for good.
 */
export async function verifyDomain(ctx: DomainContext, domainId: string, force = false): Promise<VerifyOutcome> {
  const domain = await ctx.db.domain.findUnique({
    where: { id: domainId },
    include: { instance: { select: { slug: true, organizationId: true, status: true } } },
  })
  if (!domain || domain.state !== 'pending' || domain.instance.status === 'archived') return 'gone'
  const now = ctx.now()
  if (!force && domain.nextCheckAt && domain.nextCheckAt.getTime() > now.getTime() + 1000) return 'not-due'
  if (now > domain.verificationExpiresAt) {
    await ctx.db.$transaction(async (tx) => {
      await tx.domain.update({ where: { id: domain.id }, data: { state: 'expired', nextCheckAt: null } })
      await recordAudit(tx, audit(domain, 'domain.verification_expired'))
    })
    return 'expired'
  }

  const record = verificationRecordName(domain.hostname)
  let found = false
  let problem: string | null = null
  try {
    const values = await ctx.resolver.txt(record)
    found = values.includes(domain.verificationToken)
    if (!found) problem = values.length ? `TXT ${record} holds other values than the token` : `no TXT record at ${record} yet`
  } catch (err) {
    problem = err instanceof Error ? err.message : String(err)
  }
  const pointsHere = await resolvesHere(ctx, domain.hostname, instanceHostname(domain.instance.slug, ctx.config.hostingZone))
  const acmeDelegated = await ctx.resolver
    .cname(`_acme-challenge.${domain.hostname}`)
    .then((target) => target === delegationTarget(domain.id, ctx.config.hostingZone))
    .catch(() => false)

  if (found) {
    try {
      const certificateId = await ctx.db.$transaction(async (tx) => {
        const updated = await tx.domain.update({
          where: { id: domain.id },
          data: {
            state: 'verified',
            verifiedAt: now,
            lastCheckedAt: now,
            nextCheckAt: null,
            lastCheckError: null,
            pointsHere,
            acmeDelegated,
            checkAttempts: { increment: 1 },
          },
        })
        await recordAudit(tx, audit(domain, 'domain.verified'))
        return ensureDomainCertificate(tx, ctx, updated)
      })
      await routeAgain(ctx, domain.instanceId)
      if (certificateId) await ctx.jobs.send(QUEUES.issueCertificate.name, { certificateId })
      return 'verified'
    } catch (err) {
      if (!isUniqueViolationOf(err, 'domains_verified_hostname_key')) throw err
      await ctx.db.domain.update({
        where: { id: domain.id },
        data: {
          state: 'expired',
          lastCheckedAt: now,
          nextCheckAt: null,
          lastCheckError: `${domain.hostname} is already in use by another instance`,
        },
      })
      return 'in-use'
    }
  }

  const attempts = domain.checkAttempts + 1
  const nextCheckAt = new Date(now.getTime() + verificationDelayMs(attempts))
  await ctx.db.domain.update({
    where: { id: domain.id },
    data: { checkAttempts: attempts, lastCheckedAt: now, nextCheckAt, lastCheckError: problem, pointsHere, acmeDelegated },
  })
  await ctx.jobs.send(QUEUES.verifyDomain.name, { domainId: domain.id }, { startAfter: nextCheckAt })
  return 'not-found'
}

/** Whether the hostname reaches the load balancers: a CNAME to the instance's hostname, or the same addresses. */
async function resolvesHere(ctx: DomainContext, hostname: string, instanceHost: string): Promise<boolean | null> {
  try {
    if ((await ctx.resolver.cname(hostname)) === instanceHost) return true
    const [mine, theirs] = await Promise.all([ctx.resolver.addresses(instanceHost), ctx.resolver.addresses(hostname)])
    return theirs.length > 0 && theirs.every((a) => mine.includes(a))
  } catch {
    // Unknown rather than wrong: the check is a hint for the client, not a condition of verification.
    return null
  }
}

function audit(domain: { id: string; hostname: string; instanceId: string; instance: { organizationId: string } }, action: string) {
  return {
    actor: systemActor('domains'),
    action,
    targetType: 'domain',
    targetId: domain.id,
    organizationId: domain.instance.organizationId,
    after: { hostname: domain.hostname, instanceId: domain.instanceId },
  }
}
