import type { Actor } from '@/lib/auth/actor'
import { readableOrganizations } from '@/lib/auth/policy'
import type { Db } from '@/lib/db/client'
import type { Prisma } from '@/lib/db/generated/client'
import type { Blueprint, InstanceStatus } from '@/lib/db/generated/enums'
import { afterCursor, decodeCursor, pageOf } from '@/lib/db/cursor'
import { likeLiteral } from '@/lib/db/like'
import type { TInstance, TListInstancesQuery } from './schemas'
import { INSTANCE_INCLUDE, toInstance } from './to-instance'

/**
 * A page of instances the actor may read, newest first, with search and filters applied in the
 * database. Keyset pagination keeps every page as cheap as the first on a large fleet.
 */
export async function listInstances(opts: { db: Db; actor: Actor; hostingZone: string; query: TListInstancesQuery }): Promise<{
  items: TInstance[]
  nextCursor: string | null
}> {
  const { db, actor, query } = opts
  const readable = readableOrganizations(actor)
  const and: Prisma.InstanceWhereInput[] = []
  if (readable !== 'all') and.push({ organizationId: { in: readable } })
  if (query.organizationId) and.push({ organizationId: query.organizationId })
  if (query.status) and.push({ status: query.status as InstanceStatus })
  if (query.blueprint) and.push({ blueprint: query.blueprint as Blueprint })
  if (query.q) {
    const q = likeLiteral(query.q)
    and.push({ OR: [{ name: { contains: q, mode: 'insensitive' } }, { slug: { contains: q.toLowerCase() } }] })
  }
  and.push(afterCursor('createdAt', decodeCursor(query.cursor)) as Prisma.InstanceWhereInput)
  const rows = await db.instance.findMany({
    where: { AND: and },
    orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    take: query.limit + 1,
    include: INSTANCE_INCLUDE,
  })
  const page = pageOf(rows, query.limit, (r) => r.createdAt)
  return { items: page.items.map((r) => toInstance(r, opts.hostingZone)), nextCursor: page.nextCursor }
}
