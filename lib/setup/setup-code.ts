import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import type { Db } from '@/lib/db/client'
import { checkNewUser, createUserInTx } from '@/lib/accounts/create-user'
import { systemActor } from '@/lib/auth/actor'
import { DomainError, invalidInput } from '@/lib/errors'

/**
 * First-run claim. While no staff account exists, start-up creates a one-time code and prints it to the
 * server log; the console's first page asks for it before creating the first staff account, so whoever
 * reaches a fresh public deployment first cannot claim it without access to its log.
 */
const CODE_TTL_MS = 24 * 3600_000
const hashCode = (code: string) => createHash('sha256').update(code.replace(/[\s-]/g, '').toUpperCase()).digest()

export async function needsSetup(db: Db): Promise<boolean> {
  return (await db.user.count({ where: { isStaff: true } })) === 0
}

/** Returns a fresh code to print when setup is still needed, else null. Each start-up replaces the previous code. */
export async function issueSetupCode(db: Db): Promise<string | null> {
  if (!(await needsSetup(db))) {
    await db.setupCode.deleteMany({})
    return null
  }
  // 20 characters of an unambiguous alphabet: ~100 bits.
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789'
  const code = Array.from(randomBytes(20), (b) => alphabet[b % alphabet.length])
    .join('')
    .replace(/(.{5})(?!$)/g, '$1-')
  const row = { codeHash: hashCode(code).toString('hex'), expiresAt: new Date(Date.now() + CODE_TTL_MS) }
  await db.setupCode.upsert({ where: { id: 1 }, create: { id: 1, ...row }, update: row })
  return code
}

export async function claimSetup(opts: { db: Db; code: string; user: unknown }): Promise<{ userId: string }> {
  const user = checkNewUser(opts.user)
  return opts.db.$transaction(async (tx) => {
    // Lock the code row so two claims cannot both pass the "no staff yet" check.
    const rows = await tx.$queryRaw<
      { code_hash: string; expires_at: Date }[]
    >`SELECT code_hash, expires_at FROM setup_codes WHERE id = 1 FOR UPDATE`
    const stored = rows[0]
    if (!stored || (await tx.user.count({ where: { isStaff: true } })) > 0) {
      throw new DomainError('gone', 'Setup is already complete: sign in instead')
    }
    const given = hashCode(opts.code)
    if (stored.expires_at < new Date() || !timingSafeEqual(given, Buffer.from(stored.code_hash, 'hex'))) {
      throw invalidInput([{ field: 'code', message: 'is not the setup code printed in the server log (restart the server for a new one)' }])
    }
    const created = await createUserInTx(tx, { actor: systemActor('setup'), user, isStaff: true })
    await tx.setupCode.deleteMany({})
    return { userId: created.id }
  })
}
