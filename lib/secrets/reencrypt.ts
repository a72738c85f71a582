import type { Db } from '@/lib/db/client'
import type { SecretBox } from './cipher'
import { ENCRYPTED_COLUMNS } from './encrypted-columns'

export interface ReencryptReport {
  table: string
  column: string
  rewritten: number
}

const BATCH = 500

/**
 * Rewrites every ciphertext not written with the current key (the first of SECRETS_KEYS) with it, so older keys
 * can then be removed. Batches of rows by id; each row is updated only if it still holds the value read (a
 * concurrent change wins and is already under the current key). Safe to run again, and while the product runs.
 */
export async function reencryptAll(db: Db, box: SecretBox): Promise<ReencryptReport[]> {
  const current = `v1.${box.currentKeyId}.`
  const report: ReencryptReport[] = []
  for (const { table, column } of ENCRYPTED_COLUMNS) {
    let rewritten = 0
    let after = '00000000-0000-0000-0000-000000000000'
    for (;;) {
      // Identifiers come from the constant list above, never from input.
      const rows = await db.$queryRawUnsafe<{ id: string; value: string }[]>(
        `SELECT id::text AS id, "${column}" AS value FROM "${table}"
         WHERE id > $1::uuid AND "${column}" IS NOT NULL AND left("${column}", $2) <> $3
         ORDER BY id LIMIT ${BATCH}`,
        after,
        current.length,
        current,
      )
      if (!rows.length) break
      for (const row of rows) {
        const next = box.encrypt(box.decrypt(row.value))
        rewritten += await db.$executeRawUnsafe(
          `UPDATE "${table}" SET "${column}" = $1 WHERE id = $2::uuid AND "${column}" = $3`,
          next,
          row.id,
          row.value,
        )
      }
      after = rows[rows.length - 1]!.id
    }
    report.push({ table, column, rewritten })
  }
  return report
}

/** How many values each key id still encrypts, over every encrypted column. */
export async function keyUsage(db: Db): Promise<Record<string, number>> {
  const usage: Record<string, number> = {}
  for (const { table, column } of ENCRYPTED_COLUMNS) {
    const rows = await db.$queryRawUnsafe<{ key: string; n: number }[]>(
      `SELECT split_part("${column}", '.', 2) AS key, count(*)::int AS n FROM "${table}" WHERE "${column}" IS NOT NULL GROUP BY 1`,
    )
    for (const r of rows) usage[r.key] = (usage[r.key] ?? 0) + r.n
  }
  return usage
}
