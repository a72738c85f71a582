import type { Actor } from '@/lib/auth/actor'
import { readableOrganizations } from '@/lib/auth/policy'
import type { Db } from '@/lib/db/client'
import type { Prisma } from '@/lib/db/generated/client'
import { afterCursor, decodeCursor, pageOf } from '@/lib/db/cursor'
import { likeLiteral } from '@/lib/db/like'
import { notFound } from '@/lib/errors'
import { z } from 'zod'
import type { TOrganization } from './schemas'
import { ORGANIZATION_COUNTS, toOrganization } from './to-organization'

export async function listOrganizations(opts: { db: Db; actor: Actor; query: { q?: string; cursor?: string; limit: number } }): Promise<{
  items: TOrganization[]
  nextCursor: string | null
}> {
  const readable = readableOrganizations(opts.actor)
  const and: Prisma.OrganizationWhereInput[] = []
  if (readable !== 'all') and.push({ id: { in: readable } })
  if (opts.query.q) {
    const q = likeLiteral(opts.query.q)
    and.push({ OR: [{ name: { contains: q, mode: 'insensitive' } }, { slug: { contains: q.toLowerCase() } }] })
  }
  and.push(afterCursor('createdAt', decodeCursor(opts.query.cursor)) as Prisma.OrganizationWhereInput)
  const rows = await opts.db.organization.findMany({
    where: { AND: and },
    orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    take: opts.query.limit + 1,
    include: ORGANIZATION_COUNTS,
  })
  const page = pageOf(rows, opts.query.limit, (r) => r.createdAt)
  return { items: page.items.map(toOrganization), nextCursor: page.nextCursor }
}

export async function getOrganization(opts: { db: Db; actor: Actor; id: string }): Promise<TOrganization> {
  const readable = readableOrganizations(opts.actor)
  const visible = z.uuid().safeParse(opts.id).success && (readable === 'all' || readable.includes(opts.id))
  const row = visible ? await opts.db.organization.findUnique({ where: { id: opts.id }, include: ORGANIZATION_COUNTS }) : null
  if (!row) throw notFound('Organization')
  return toOrganization(row)
}
