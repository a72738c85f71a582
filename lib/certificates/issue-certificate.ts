import { systemActor } from '@/lib/auth/actor'
import { recordAudit } from '@/lib/audit/record-audit'
import type { Certificate } from '@/lib/db/generated/client'
import type { DomainContext } from '@/lib/domains/domain-context'
import { AcmeProblemError, ProvisionerError } from '@/provisioners/types'
import { acmeAccount, AcmeNotConfiguredError, newPrivateKey } from './acme-account'
import { raiseCertificateAlert } from './alerts'
import { checkBudget, identifiersOf, LEDGER_WINDOW_MS, type LedgerOrder } from './budget'
import { afterFailure, orderStart } from './certificate-states'
import { deliverCertificate, LbKeysMissingError } from './deliver-certificate'
import { registeredDomains } from './registered-domain'
import { alertDue, nextAttemptDelayMs, renewalTime } from './renewal-schedule'
import { ChallengeSetupError, createSolver } from './solvers'

/** How long one worker owns an order; past it, another may start over (the first one died). */
const LEASE_MS = 20 * 60_000
/** First issuances give up (→ failed, a person must act) after this many failed attempts. */
export const MAX_FIRST_ATTEMPTS = 5

export type IssueOutcome =
  | { outcome: 'issued'; fingerprint: string; notAfter: string }
  | { outcome: 'not-due' | 'busy' | 'gone' }
  | { outcome: 'deferred'; reason: string; retryAt: string }
  | { outcome: 'failed'; error: string; nextAttemptAt: string | null }

/**
 * The certificate.issue job: one ACME order for a certificate that is due (first issuance, renewal, or `force` by a
 * person). Claims the certificate with a lease and books the order in the ledger under the account's lock, so two
 * workers never order the same certificate and the rate-limit budget is never overspent. Failures never throw: they
 * are recorded with the next attempt (backoff, or the CA's Retry-After), and raise an alert when it matters.
 */
export async function issueCertificate(ctx: DomainContext, certificateId: string, force = false): Promise<IssueOutcome> {
  const cert = await ctx.db.certificate.findUnique({
    where: { id: certificateId },
    include: { instance: { select: { organizationId: true } } },
  })
  if (!cert || cert.source !== 'acme' || !cert.challenge) return { outcome: 'gone' }
  const now = ctx.now()
  const leaseFree = !cert.leaseUntil || cert.leaseUntil < now
  // A lease that ran out belongs to a dead worker: its order starts over from where the certificate was.
  const before =
    (cert.state === 'issuing' || cert.state === 'renewing') && leaseFree ? (cert.certificate ? 'valid' : 'pending') : cert.state
  const start = orderStart(before)
  if (!start || !leaseFree) return { outcome: 'busy' }
  if (!force && !isDue(cert, before, now)) return { outcome: 'not-due' }

  let account: Awaited<ReturnType<typeof acmeAccount>>
  try {
    account = await acmeAccount(ctx)
  } catch (err) {
    return fail(ctx, cert, before, err)
  }

  const hostnames = cert.hostnames
  const identifiers = identifiersOf(hostnames)
  const renewal = cert.certificate !== null
  const booked = await ctx.db.$transaction(async (tx) => {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${`tenon:acme-budget:${account.accountId}`}))`
    const ledger: LedgerOrder[] = await tx.acmeOrder.findMany({
      where: { accountId: account.accountId, createdAt: { gt: new Date(now.getTime() - LEDGER_WINDOW_MS) } },
      select: { createdAt: true, identifiers: true, registeredDomains: true, renewal: true, status: true, failedHostnames: true },
    })
    const acme = ctx.config.acme!
    const decision = checkBudget(
      { identifiers, hostnames, registeredDomains: registeredDomains(hostnames), renewal },
      ledger,
      acme.limits,
      acme.reserve,
      now,
    )
    if (!decision.allowed) return decision
    const claimed = await tx.certificate.updateMany({
      where: { id: cert.id, state: cert.state, OR: [{ leaseUntil: null }, { leaseUntil: { lt: now } }] },
      data: { state: start, leaseUntil: new Date(now.getTime() + LEASE_MS), lastAttemptAt: now, attempts: { increment: 1 } },
    })
    if (!claimed.count) return null
    const order = await tx.acmeOrder.create({
      data: { accountId: account.accountId, certificateId: cert.id, identifiers, registeredDomains: registeredDomains(hostnames), renewal },
    })
    return { allowed: true as const, orderId: order.id }
  })
  if (booked === null) return { outcome: 'busy' }
  if (!booked.allowed) {
    // Not a failure of the certificate: the budget is spent. It waits, visibly, until the window frees up.
    const message = `waiting for the CA's rate limit: ${booked.reason}`
    await ctx.db.certificate.update({ where: { id: cert.id }, data: { nextAttemptAt: booked.retryAt, lastError: message } })
    if (cert.lastError !== message)
      await audit(ctx, cert, 'certificate.budget_exhausted', { limit: booked.limit, retryAt: booked.retryAt.toISOString() })
    return { outcome: 'deferred', reason: booked.reason, retryAt: booked.retryAt.toISOString() }
  }

  try {
    const privateKey = newPrivateKey()
    const domain = cert.domainId ? await ctx.db.domain.findUnique({ where: { id: cert.domainId } }) : null
    const solver = createSolver(ctx, domain?.acmeDelegated ? { delegatedDomainId: domain.id } : {})
    const issued = await account.ca.issue(
      {
        hostnames,
        challenge: cert.challenge as 'dns-01' | 'http-01',
        privateKey,
        replaces: renewal ? (cert.ariCertId ?? undefined) : undefined,
      },
      solver,
    )
    const window = issued.ariCertId ? await account.ca.renewalInfo(issued.ariCertId).catch(() => null) : null
    const notBefore = new Date(issued.notBefore)
    const notAfter = new Date(issued.notAfter)
    const renewAt = renewalTime(
      { id: cert.id, serial: issued.serial, notBefore, notAfter },
      {
        renewDays: ctx.config.certificates.renewDays,
        window: window ? { start: new Date(window.start), end: new Date(window.end) } : null,
      },
    )
    await ctx.db.$transaction(async (tx) => {
      await tx.certificate.update({
        where: { id: cert.id },
        data: {
          state: 'valid',
          certificate: issued.certificate,
          privateKey: ctx.box.encrypt(privateKey),
          fingerprint: issued.fingerprint,
          serial: issued.serial,
          issuer: issued.issuer,
          notBefore,
          notAfter,
          ariCertId: issued.ariCertId,
          renewAt,
          attempts: 0,
          lastError: null,
          nextAttemptAt: null,
          leaseUntil: null,
          issuedAt: ctx.now(),
          alertedAt: null,
        },
      })
      await tx.acmeOrder.update({ where: { id: booked.orderId }, data: { status: 'valid', finishedAt: ctx.now() } })
      await recordAudit(tx, {
        actor: systemActor('certificates'),
        action: renewal ? 'certificate.renewed' : 'certificate.issued',
        targetType: 'certificate',
        targetId: cert.id,
        organizationId: cert.instance?.organizationId ?? null,
        after: { hostnames, notAfter: notAfter.toISOString(), issuer: issued.issuer, fingerprint: issued.fingerprint },
      })
    })
    try {
      await deliverCertificate(ctx, cert.id)
    } catch (err) {
      // The certificate is issued and stored; the reconciler delivers it again (its fingerprint is not delivered yet).
      ctx.log.warn({ certificateId: cert.id, err: message(err) }, 'certificate issued but not yet delivered to the load balancers')
    }
    return { outcome: 'issued', fingerprint: issued.fingerprint, notAfter: notAfter.toISOString() }
  } catch (err) {
    const failed = err instanceof AcmeProblemError && err.failedHostnames.length > 0
    await ctx.db.acmeOrder.update({
      where: { id: booked.orderId },
      data: {
        status: failed ? 'invalid' : 'error',
        failedHostnames: err instanceof AcmeProblemError ? err.failedHostnames : [],
        error: message(err).slice(0, 1000),
        finishedAt: ctx.now(),
      },
    })
    return fail(ctx, { ...cert, attempts: cert.attempts + 1 }, before, err)
  }
}

function isDue(cert: Certificate, state: Certificate['state'], now: Date): boolean {
  if (cert.nextAttemptAt && cert.nextAttemptAt > now) return false
  if (state === 'pending') return true
  if (state === 'failed') return false
  return !cert.renewAt || cert.renewAt <= now || (cert.notAfter !== null && cert.notAfter <= now)
}

async function fail(
  ctx: DomainContext,
  cert: Certificate & { instance: { organizationId: string } | null },
  before: Certificate['state'],
  err: unknown,
): Promise<IssueOutcome> {
  const now = ctx.now()
  const text = message(err)
  // Configuration problems need a person; so does a first issuance that keeps failing.
  const needsPerson = [AcmeNotConfiguredError, ChallengeSetupError, LbKeysMissingError].some((kind) => causedBy(err, kind))
  const giveUp = needsPerson || (!cert.certificate && cert.attempts >= MAX_FIRST_ATTEMPTS)
  const state = afterFailure(before, giveUp)
  const retryAfterMs = err instanceof ProvisionerError ? err.retryAfterMs : undefined
  const nextAttemptAt = state === 'failed' ? null : new Date(now.getTime() + nextAttemptDelayMs(Math.max(1, cert.attempts), retryAfterMs))
  await ctx.db.certificate.update({
    where: { id: cert.id },
    data: { state, lastError: text.slice(0, 1000), nextAttemptAt, leaseUntil: null },
  })
  ctx.log.warn({ certificateId: cert.id, hostnames: cert.hostnames, attempts: cert.attempts, err: text }, 'certificate order failed')
  if (
    state === 'failed' ||
    alertDue({ notAfter: cert.notAfter, attempts: cert.attempts, now, alertDays: ctx.config.certificates.alertDays })
  ) {
    await raiseCertificateAlert(ctx, {
      kind: cert.certificate ? 'certificate.renewal_failed' : 'certificate.issue_failed',
      certificateId: cert.id,
      hostnames: cert.hostnames,
      notAfter: cert.notAfter,
      message: `${cert.certificate ? 'Renewing' : 'Issuing'} the certificate for ${cert.hostnames.join(', ')} failed ${cert.attempts} time(s): ${text}`,
      organizationId: cert.instance?.organizationId ?? null,
    })
  }
  return { outcome: 'failed', error: text, nextAttemptAt: nextAttemptAt?.toISOString() ?? null }
}

async function audit(
  ctx: DomainContext,
  cert: Certificate & { instance: { organizationId: string } | null },
  action: string,
  after: Record<string, unknown>,
) {
  await ctx.db.$transaction((tx) =>
    recordAudit(tx, {
      actor: systemActor('certificates'),
      action,
      targetType: 'certificate',
      targetId: cert.id,
      organizationId: cert.instance?.organizationId ?? null,
      after,
    }),
  )
}

/** Whether `err` or one of its causes is a `kind` (the ACME adapter wraps what the solver throws). */
function causedBy(err: unknown, kind: abstract new (...args: never[]) => Error): boolean {
  let e: unknown = err
  for (let depth = 0; depth < 5 && e instanceof Error; depth++) {
    if (e instanceof kind) return true
    e = (e as Error).cause
  }
  return false
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
