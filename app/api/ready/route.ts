import { getDb } from '@/lib/db/client'
import { QUEUE_SCHEMA } from '@/lib/jobs/send'
import { getLogger } from '@/lib/log'

/** Readiness: the control database answers and the job queue's schema is in place. */
export async function GET(): Promise<Response> {
  const checks: Record<string, 'ok' | 'failing'> = { database: 'failing', queue: 'failing' }
  try {
    const db = getDb()
    await db.$queryRaw`SELECT 1`
    checks.database = 'ok'
    const rows = await db.$queryRawUnsafe<{ ok: boolean }[]>(`SELECT to_regclass('${QUEUE_SCHEMA}.job') IS NOT NULL AS ok`)
    if (rows[0]?.ok) checks.queue = 'ok'
  } catch (err) {
    getLogger().warn({ err }, 'readiness check failed')
  }
  const ready = Object.values(checks).every((c) => c === 'ok')
  return Response.json(
    { status: ready ? 'ready' : 'not ready', checks },
    { status: ready ? 200 : 503, headers: { 'cache-control': 'no-store' } },
  )
}
