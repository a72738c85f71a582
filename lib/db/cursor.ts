import { invalidInput } from '@/lib/errors'

/**
 * Keyset pagination cursors: the (timestamp, id) of the last row of a page, opaque to clients.
 * Pages walk newest first; ties on the timestamp are broken by id.
 */
export interface Keyset {
  at: Date
  id: string
}

export function encodeCursor(k: Keyset): string {
  return Buffer.from(JSON.stringify([k.at.toISOString(), k.id])).toString('base64url')
}

export function decodeCursor(cursor: string | undefined): Keyset | undefined {
  if (!cursor) return undefined
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [string, string]
    const date = new Date(at)
    if (typeof id !== 'string' || Number.isNaN(date.getTime())) throw new Error('bad cursor')
    return { at: date, id }
  } catch {
    throw invalidInput([{ field: 'cursor', message: 'is not a cursor this API returned' }])
  }
}

/**
 * Prisma `where` for rows strictly after the cursor in (field desc, id desc) order. Written as
 * `field <= at AND (field < at OR id < id)` rather than `field < at OR (field = at AND id < id)`: the
 * same rows, but PostgreSQL can start the (field desc, id desc) index scan at the cursor instead of
 * filtering every row before it, so a deep page costs what the first page costs.
 */
export function afterCursor<F extends string>(field: F, k: Keyset | undefined) {
  if (!k) return {}
  return { AND: [{ [field]: { lte: k.at } }, { OR: [{ [field]: { lt: k.at } }, { id: { lt: k.id } }] }] } as Record<string, unknown>
}

/** Splits a fetched page of limit+1 rows into the page and the next cursor. */
export function pageOf<T extends { id: string }>(
  rows: T[],
  limit: number,
  at: (row: T) => Date,
): { items: T[]; nextCursor: string | null } {
  const items = rows.slice(0, limit)
  const last = items[items.length - 1]
  return { items, nextCursor: rows.length > limit && last ? encodeCursor({ at: at(last), id: last.id }) : null }
}
