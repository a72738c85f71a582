import { z } from 'zod'
import type { Actor } from '@/lib/auth/actor'
import { isOrganizationOwner, isStaff } from '@/lib/auth/policy'
import type { Db } from '@/lib/db/client'
import type { Prisma } from '@/lib/db/generated/client'
import { afterCursor, decodeCursor, pageOf } from '@/lib/db/cursor'
import { likeLiteral } from '@/lib/db/like'
import { forbidden } from '@/lib/errors'

export const ZAuditEntry = z
  .object({
    id: z.uuid(),
    at: z.iso.datetime(),
    actor: z.object({ id: z.string().nullable(), label: z.string(), apiTokenId: z.string().nullable() }),
    action: z.string(),
    targetType: z.string(),
    targetId: z.string(),
    organizationId: z.string().nullable(),
    diff: z.record(z.string(), z.object({ before: z.unknown().optional(), after: z.unknown().optional() })),
  })
  .meta({ id: 'AuditEntry' })
export type TAuditEntry = z.infer<typeof ZAuditEntry>

export const ZListAuditQuery = z.object({
  organizationId: z.uuid('must be an organization id').optional(),
  action: z.string().max(100).optional().describe('Exact action, or a prefix ending in "." such as "instance."'),
  targetType: z.string().max(50).optional(),
  targetId: z.string().max(100).optional(),
  actor: z.string().max(200).optional().describe('Actor email (or system:label) contains this.'),
  cursor: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
})
export type TListAuditQuery = z.infer<typeof ZListAuditQuery>

/**
 * The audit log, newest first. Staff read all of it; an organization owner reads the entries about
 * their organization(s) only; members read none.
 */
export async function listAudit(opts: {
  db: Db
  actor: Actor
  query: TListAuditQuery
}): Promise<{ items: TAuditEntry[]; nextCursor: string | null }> {
  const { actor, query } = opts
  const and: Prisma.AuditEntryWhereInput[] = []
  if (!isStaff(actor)) {
    const owned =
      actor.kind === 'user'
        ? actor.memberships.filter((m) => isOrganizationOwner(actor, m.organizationId)).map((m) => m.organizationId)
        : []
    if (!owned.length) throw forbidden('Only hosting staff and organization owners can read the audit log')
    and.push({ organizationId: { in: owned } })
  }
  if (query.organizationId) and.push({ organizationId: query.organizationId })
  if (query.action) and.push(query.action.endsWith('.') ? { action: { startsWith: query.action } } : { action: query.action })
  if (query.targetType) and.push({ targetType: query.targetType })
  if (query.targetId) and.push({ targetId: query.targetId })
  if (query.actor) and.push({ actorLabel: { contains: likeLiteral(query.actor), mode: 'insensitive' } })
  and.push(afterCursor('at', decodeCursor(query.cursor)) as Prisma.AuditEntryWhereInput)
  const rows = await opts.db.auditEntry.findMany({ where: { AND: and }, orderBy: [{ at: 'desc' }, { id: 'desc' }], take: query.limit + 1 })
  const page = pageOf(rows, query.limit, (r) => r.at)
  return {
    items: page.items.map((r) => ({
      id: r.id,
      at: r.at.toISOString(),
      actor: { id: r.actorId, label: r.actorLabel, apiTokenId: r.apiTokenId },
      action: r.action,
      targetType: r.targetType,
      targetId: r.targetId,
      organizationId: r.organizationId,
      diff: r.diff as TAuditEntry['diff'],
    })),
    nextCursor: page.nextCursor,
  }
}
