import type { Db } from '@/lib/db/client'
import { QUEUE_SCHEMA } from './send'

/** Jobs in the queue by name and state, for /api/metrics. None while the queue's schema does not exist yet. */
export async function jobCounts(db: Db): Promise<{ name: string; state: string; count: number }[]> {
  const [schema] = await db.$queryRawUnsafe<{ ok: boolean }[]>(`SELECT to_regclass('${QUEUE_SCHEMA}.job') IS NOT NULL AS ok`)
  if (!schema?.ok) return []
  const rows = await db.$queryRawUnsafe<{ name: string; state: string; count: bigint }[]>(
    `SELECT name, state::text AS state, count(*) AS count FROM ${QUEUE_SCHEMA}.job GROUP BY name, state`,
  )
  return rows.map((r) => ({ name: r.name, state: r.state, count: Number(r.count) }))
}
