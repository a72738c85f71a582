import { generateKeyPairSync } from 'node:crypto'
import type { DomainContext } from '@/lib/domains/domain-context'
import type { AcmeCa } from '@/provisioners/types'

export class AcmeNotConfiguredError extends Error {
  constructor() {
    super('certificates cannot be issued: ACME_DIRECTORY_URL is not set')
    this.name = 'AcmeNotConfiguredError'
  }
}

/** A fresh private key (PEM, PKCS#8): ECDSA P-256, what every client and HAProxy handle and CAs sign fastest. */
export function newPrivateKey(): string {
  return generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
}

const cache = new WeakMap<DomainContext, Promise<{ ca: AcmeCa; accountId: string }>>()

/**
 * The CA with this installation's account for the configured directory. The account key is generated once, stored
 * encrypted, and found again by every worker (a race between two first workers keeps the first key written).
 */
export function acmeAccount(ctx: DomainContext): Promise<{ ca: AcmeCa; accountId: string }> {
  let pending = cache.get(ctx)
  if (!pending) {
    pending = openAccount(ctx)
    pending.catch(() => cache.delete(ctx))
    cache.set(ctx, pending)
  }
  return pending
}

async function openAccount(ctx: DomainContext): Promise<{ ca: AcmeCa; accountId: string }> {
  const acme = ctx.config.acme
  if (!acme || !ctx.acme) throw new AcmeNotConfiguredError()
  await ctx.db.acmeAccount.createMany({
    data: [{ directoryUrl: acme.directoryUrl, email: acme.email ?? null, accountKey: ctx.box.encrypt(newPrivateKey()) }],
    skipDuplicates: true,
  })
  const account = await ctx.db.acmeAccount.findUniqueOrThrow({ where: { directoryUrl: acme.directoryUrl } })
  const ca = ctx.acme(ctx.box.decrypt(account.accountKey))
  const url = await ca.ensureAccount()
  if (url !== account.accountUrl) await ctx.db.acmeAccount.update({ where: { id: account.id }, data: { accountUrl: url } })
  return { ca, accountId: account.id }
}
