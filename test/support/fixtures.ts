import { randomUUID } from 'node:crypto'
import { createUserInTx, prepareNewUser } from '@/lib/accounts/create-user'
import { systemActor } from '@/lib/auth/actor'
import { getDb } from '@/lib/db/client'
import type { MemberRole } from '@/lib/db/generated/enums'
import { createApiToken } from '@/lib/tokens/api-tokens'

const system = systemActor('tests')
export const PASSWORD = 'test-password-123'

/** A unique suffix so test files can share one database without colliding. */
export const uniq = () => randomUUID().slice(0, 8)

let passwordHash: Promise<string> | undefined

export interface TestUser {
  id: string
  email: string
  token: string
}

/** A user (staff, or a member of an organization) with an API token for requests. */
export async function createTestUser(opts: { staff?: boolean; organizationId?: string; role?: MemberRole } = {}): Promise<TestUser> {
  const db = getDb()
  const email = `${opts.staff ? 'staff' : 'client'}-${uniq()}@example.test`
  // scrypt is slow on purpose: hash the shared test password once per process and reuse it.
  passwordHash ??= prepareNewUser({ email, name: 'x', password: PASSWORD }).then((p) => p.passwordHash)
  const prepared = { email, name: email.split('@')[0]!, passwordHash: await passwordHash }
  const user = await db.$transaction((tx) =>
    createUserInTx(tx, {
      actor: system,
      user: prepared,
      isStaff: !!opts.staff,
      membership: opts.organizationId ? { organizationId: opts.organizationId, role: opts.role ?? 'member' } : undefined,
    }),
  )
  const { token } = await createApiToken({ db, actor: system, userId: user.id, name: 'tests' })
  return { id: user.id, email, token }
}

export async function createTestOrganization(name = `Org ${uniq()}`) {
  return getDb().organization.create({ data: { name, slug: `org-${uniq()}` } })
}
