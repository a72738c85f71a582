import type { Actor } from '@/lib/auth/actor'
import { assertStaff } from '@/lib/auth/policy'
import type { Db } from '@/lib/db/client'
import type { Rollout } from '@/lib/db/generated/client'
import type { RolloutItemStatus } from '@/lib/db/generated/enums'
import { afterCursor, decodeCursor, encodeCursor } from '@/lib/db/cursor'
import { notFound } from '@/lib/errors'
import { z } from 'zod'
import { ZRolloutSelection, type TRollout } from './schemas'

const EMPTY_COUNTS: Record<RolloutItemStatus, number> = { pending: 0, deploying: 0, succeeded: 0, failed: 0, skipped: 0, cancelled: 0 }

async function countsOf(db: Db, ids: string[]) {
  const groups = await db.rolloutItem.groupBy({ by: ['rolloutId', 'status'], where: { rolloutId: { in: ids } }, _count: { _all: true } })
  const counts = new Map<string, Record<RolloutItemStatus, number>>()
  for (const g of groups) {
    const c = counts.get(g.rolloutId) ?? { ...EMPTY_COUNTS }
    c[g.status] = g._count._all
    counts.set(g.rolloutId, c)
  }
  return counts
}

function toRollout(r: Rollout, counts: Record<RolloutItemStatus, number> | undefined): TRollout {
  return {
    id: r.id,
    status: r.status,
    selection: ZRolloutSelection.parse(r.selection),
    concurrency: r.concurrency,
    failureBudgetPercent: r.failureBudgetPercent,
    total: r.total,
    counts: counts ?? { ...EMPTY_COUNTS },
    pausedReason: r.pausedReason,
    createdBy: r.createdBy,
    createdAt: r.createdAt.toISOString(),
    finishedAt: r.finishedAt?.toISOString() ?? null,
  }
}

export async function getRollout(db: Db, actor: Actor, id: string): Promise<TRollout> {
  assertStaff(actor)
  const row = z.uuid().safeParse(id).success ? await db.rollout.findUnique({ where: { id } }) : null
  if (!row) throw notFound('Rollout')
  return toRollout(row, (await countsOf(db, [row.id])).get(row.id))
}

/** Rollouts newest first, keyset-paginated. */
export async function listRollouts(db: Db, actor: Actor, opts: { limit: number; cursor?: string }) {
  assertStaff(actor)
  const cursor = opts.cursor ? decodeCursor(opts.cursor) : undefined
  const rows = await db.rollout.findMany({
    where: cursor ? afterCursor('createdAt', cursor) : {},
    orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    take: opts.limit + 1,
  })
  const page = rows.slice(0, opts.limit)
  const counts = await countsOf(
    db,
    page.map((r) => r.id),
  )
  const last = page[page.length - 1]
  return {
    items: page.map((r) => toRollout(r, counts.get(r.id))),
    nextCursor: rows.length > opts.limit && last ? encodeCursor({ at: last.createdAt, id: last.id }) : null,
  }
}

/** A rollout's instances in order, keyset-paginated by position. */
export async function listRolloutItems(
  db: Db,
  actor: Actor,
  rolloutId: string,
  opts: { limit: number; after?: number; status?: RolloutItemStatus },
) {
  await getRollout(db, actor, rolloutId)
  const rows = await db.rolloutItem.findMany({
    where: {
      rolloutId,
      ...(opts.status ? { status: opts.status } : {}),
      ...(opts.after !== undefined ? { position: { gt: opts.after } } : {}),
    },
    orderBy: { position: 'asc' },
    take: opts.limit + 1,
  })
  const page = rows.slice(0, opts.limit)
  const instances = await db.instance.findMany({
    where: { id: { in: page.map((r) => r.instanceId) } },
    select: { id: true, slug: true, name: true },
  })
  const byId = new Map(instances.map((i) => [i.id, i]))
  return {
    items: page.map((r) => ({
      instance: byId.get(r.instanceId) ?? { id: r.instanceId, slug: '?', name: '?' },
      position: r.position,
      status: r.status,
      deploymentId: r.deploymentId,
      error: r.error,
      startedAt: r.startedAt?.toISOString() ?? null,
      finishedAt: r.finishedAt?.toISOString() ?? null,
    })),
    nextAfter: rows.length > opts.limit ? (page[page.length - 1]?.position ?? null) : null,
  }
}
