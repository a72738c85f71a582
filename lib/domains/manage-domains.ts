import { z } from 'zod'
import { randomBytes } from 'node:crypto'
import type { Actor } from '@/lib/auth/actor'
import { recordAudit } from '@/lib/audit/record-audit'
import { routeAgain } from '@/lib/certificates/deliver-certificate'
import { conflict, invalidInput, notFound } from '@/lib/errors'
import { findReadableInstance } from '@/lib/instances/get-instance'
import { QUEUES } from '@/lib/jobs/queues'
import type { DomainContext } from './domain-context'
import { normaliseCustomHostname } from './hostname'
import { canReadOrganization } from '@/lib/auth/policy'

type Ctx = Pick<DomainContext, 'db' | 'config' | 'jobs' | 'now'>

/** The custom domain if the actor may see its instance; otherwise not_found (also for other organizations'). */
export async function findReadableDomain(db: DomainContext['db'], actor: Actor, domainId: string) {
  const domain = z.uuid().safeParse(domainId).success
    ? await db.domain.findUnique({
        where: { id: domainId },
        include: { instance: { select: { id: true, slug: true, organizationId: true, status: true } } },
      })
    : null
  if (!domain || !canReadOrganization(actor, domain.instance.organizationId)) throw notFound('Domain')
  return domain
}

/**
 * A client (or staff) adds a custom hostname to an instance. It is pending until the client's TXT record proves they
 * control it; a hostname another instance has verified is refused at once, and the database refuses a second
 * verification of the same name whatever the timing (partial unique index).
 */
export async function addDomain(ctx: Ctx, actor: Actor, instanceId: string, input: { hostname: string }) {
  const instance = await findReadableInstance(ctx.db, actor, instanceId)
  if (instance.status === 'archived') throw conflict('The instance is archived')
  const parsed = normaliseCustomHostname(input.hostname, ctx.config.hostingZone)
  if ('error' in parsed) throw invalidInput([{ field: 'hostname', message: parsed.error }])
  const hostname = parsed.hostname
  const taken = await ctx.db.domain.findFirst({ where: { hostname, state: 'verified' }, select: { instanceId: true } })
  if (taken)
    throw conflict(`${hostname} is already in use by ${taken.instanceId === instanceId ? 'this' : 'another'} instance`, undefined, [
      { field: 'hostname', message: 'is already in use' },
    ])
  const now = ctx.now()
  const domain = await ctx.db.$transaction(async (tx) => {
    const existing = await tx.domain.findUnique({ where: { instanceId_hostname: { instanceId, hostname } } })
    if (existing)
      throw conflict(`${hostname} is already a domain of this instance`, undefined, [{ field: 'hostname', message: 'is already added' }])
    const created = await tx.domain.create({
      data: {
        instanceId,
        hostname,
        verificationToken: `tenon-verify=${randomBytes(24).toString('base64url')}`,
        verificationExpiresAt: new Date(now.getTime() + ctx.config.domains.verificationDays * 86_400_000),
        nextCheckAt: now,
      },
    })
    await recordAudit(tx, {
      actor,
      action: 'domain.added',
      targetType: 'domain',
      targetId: created.id,
      organizationId: instance.organizationId,
      after: { hostname, instanceId },
    })
    return created
  })
  await ctx.jobs.send(QUEUES.verifyDomain.name, { domainId: domain.id })
  return domain
}

/** Checks a domain's records now (a client who just created them should not wait for the backoff). */
export async function recheckDomain(ctx: Ctx, actor: Actor, domainId: string) {
  const domain = await findReadableDomain(ctx.db, actor, domainId)
  if (domain.state === 'verified') return domain
  const now = ctx.now()
  const updated = await ctx.db.$transaction(async (tx) => {
    // An expired verification checked again starts a new period.
    const row = await tx.domain.update({
      where: { id: domain.id },
      data:
        domain.state === 'expired'
          ? {
              state: 'pending',
              checkAttempts: 0,
              nextCheckAt: now,
              verificationExpiresAt: new Date(now.getTime() + ctx.config.domains.verificationDays * 86_400_000),
            }
          : { nextCheckAt: now },
    })
    await recordAudit(tx, {
      actor,
      action: 'domain.check_requested',
      targetType: 'domain',
      targetId: domain.id,
      organizationId: domain.instance.organizationId,
    })
    return row
  })
  await ctx.jobs.send(QUEUES.verifyDomain.name, { domainId: domain.id, now: true })
  return updated
}

/**
 * Removes a custom domain: its row and certificates go in one transaction (so the routing computed from then on has
 * neither the hostname nor the certificate), then jobs route the instance again and take the certificates off the
 * load balancers, in that order.
 */
export async function removeDomain(ctx: Ctx, actor: Actor, domainId: string, confirm: string | undefined) {
  const domain = await findReadableDomain(ctx.db, actor, domainId)
  if (confirm !== domain.hostname)
    throw invalidInput([{ field: 'confirm', message: `must be the hostname (${domain.hostname}) to remove it` }])
  const certificates = await ctx.db.$transaction(async (tx) => {
    const certs = await tx.certificate.findMany({ where: { domainId: domain.id }, select: { id: true } })
    await tx.certificate.deleteMany({ where: { domainId: domain.id } })
    await tx.domain.delete({ where: { id: domain.id } })
    await recordAudit(tx, {
      actor,
      action: 'domain.removed',
      targetType: 'domain',
      targetId: domain.id,
      organizationId: domain.instance.organizationId,
      before: { hostname: domain.hostname, state: domain.state },
    })
    return certs
  })
  if (domain.state === 'verified') await routeAgain(ctx, domain.instanceId)
  for (const c of certificates) await ctx.jobs.send(QUEUES.removeCertificate.name, { certificateId: c.id, instanceId: domain.instanceId })
}
