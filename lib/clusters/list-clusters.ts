import type { Actor } from '@/lib/auth/actor'
import { assertStaff } from '@/lib/auth/policy'
import type { Db } from '@/lib/db/client'
import { notFound } from '@/lib/errors'
import { z } from 'zod'
import type { TCluster } from './schemas'
import { toCluster } from './to-cluster'

async function loads(db: Db, clusterIds?: string[]): Promise<Map<string, number>> {
  const rows = await db.resource.groupBy({
    by: ['clusterId'],
    where: { state: { not: 'destroyed' }, ...(clusterIds ? { clusterId: { in: clusterIds } } : {}) },
    _count: { _all: true },
  })
  return new Map(rows.map((r) => [r.clusterId, r._count._all]))
}

/** Every cluster by kind and name, with its load (staff only). A handful per kind: no pagination needed. */
export async function listClusters(db: Db, actor: Actor): Promise<TCluster[]> {
  assertStaff(actor)
  const [rows, counts] = await Promise.all([db.cluster.findMany({ orderBy: [{ kind: 'asc' }, { name: 'asc' }] }), loads(db)])
  return rows.map((r) => toCluster(r, counts.get(r.id) ?? 0))
}

export async function findCluster(db: Db, actor: Actor, id: string) {
  assertStaff(actor)
  const row = z.uuid().safeParse(id).success ? await db.cluster.findUnique({ where: { id } }) : null
  if (!row) throw notFound('Cluster')
  return row
}

export async function getCluster(db: Db, actor: Actor, id: string): Promise<TCluster> {
  const row = await findCluster(db, actor, id)
  return toCluster(row, (await loads(db, [row.id])).get(row.id) ?? 0)
}
