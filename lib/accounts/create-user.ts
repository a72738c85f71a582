import { hashPassword } from 'better-auth/crypto'
import { randomUUID } from 'node:crypto'
import { z } from 'zod'
import type { Actor } from '@/lib/auth/actor'
import { MIN_PASSWORD_LENGTH } from '@/lib/auth/better-auth'
import { recordAudit } from '@/lib/audit/record-audit'
import type { Prisma } from '@/lib/db/generated/client'
import type { MemberRole } from '@/lib/db/generated/enums'
import { conflict, invalidInput, type FieldError } from '@/lib/errors'

export const ZNewUser = z.object({
  email: z.email('must be an email address').transform((e) => e.toLowerCase()),
  name: z.string().trim().min(1, 'is required').max(100, 'must be at most 100 characters'),
  password: z
    .string()
    .min(MIN_PASSWORD_LENGTH, `must be at least ${MIN_PASSWORD_LENGTH} characters`)
    .max(256, 'must be at most 256 characters'),
})
export type TNewUser = z.infer<typeof ZNewUser>

export function checkNewUser(input: unknown): TNewUser {
  const parsed = ZNewUser.safeParse(input)
  if (!parsed.success) {
    throw invalidInput(parsed.error.issues.map((i): FieldError => ({ field: i.path.join('.') || 'body', message: i.message })))
  }
  return parsed.data
}

/** A new user whose password is already hashed. */
export interface PreparedUser {
  email: string
  name: string
  passwordHash: string
}

/**
 * Hashes the password (scrypt: CPU-heavy, and slower still under load) before the caller opens its
 * transaction, so no transaction or pooled connection is held while it runs.
 */
export async function prepareNewUser(user: TNewUser): Promise<PreparedUser> {
  return { email: user.email, name: user.name, passwordHash: await hashPassword(user.password) }
}

/**
 * Creates a user with an email + password credential in the layout better-auth signs in against
 * (users + accounts with provider "credential" and its scrypt hash), optionally a member of one
 * organization. Runs inside the caller's transaction; pass a PreparedUser to keep the hashing out of it.
 */
export async function createUserInTx(
  tx: Prisma.TransactionClient,
  opts: { actor: Actor; user: TNewUser | PreparedUser; isStaff: boolean; membership?: { organizationId: string; role: MemberRole } },
): Promise<{ id: string; email: string }> {
  const existing = await tx.user.findUnique({ where: { email: opts.user.email }, select: { id: true } })
  if (existing)
    throw conflict(`A user with the email ${opts.user.email} already exists`, undefined, [
      { field: 'email', message: 'is already registered' },
    ])
  const id = randomUUID()
  await tx.user.create({ data: { id, email: opts.user.email, name: opts.user.name, isStaff: opts.isStaff, emailVerified: false } })
  await tx.account.create({
    data: {
      id: randomUUID(),
      accountId: id,
      providerId: 'credential',
      userId: id,
      password: 'passwordHash' in opts.user ? opts.user.passwordHash : await hashPassword(opts.user.password),
    },
  })
  if (opts.membership) {
    await tx.membership.create({ data: { userId: id, organizationId: opts.membership.organizationId, role: opts.membership.role } })
  }
  await recordAudit(tx, {
    actor: opts.actor,
    action: 'user.created',
    targetType: 'user',
    targetId: id,
    organizationId: opts.membership?.organizationId ?? null,
    after: { email: opts.user.email, name: opts.user.name, isStaff: opts.isStaff, password: 'set', ...opts.membership },
  })
  return { id, email: opts.user.email }
}
