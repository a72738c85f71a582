import type { Actor } from '@/lib/auth/actor'
import { assertCanReadOrganization } from '@/lib/auth/policy'
import type { Db } from '@/lib/db/client'
import { z } from 'zod'
import type { ZMember } from './schemas'

export async function listMembers(opts: { db: Db; actor: Actor; organizationId: string }): Promise<z.infer<typeof ZMember>[]> {
  assertCanReadOrganization(opts.actor, opts.organizationId, 'Organization')
  const rows = await opts.db.membership.findMany({
    where: { organizationId: opts.organizationId },
    include: { user: { select: { email: true, name: true } } },
    orderBy: { createdAt: 'asc' },
  })
  return rows.map((m) => ({ userId: m.userId, email: m.user.email, name: m.user.name, role: m.role, since: m.createdAt.toISOString() }))
}
