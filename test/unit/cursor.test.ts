import { describe, expect, it } from 'vitest'
import { afterCursor, decodeCursor, encodeCursor, pageOf } from '@/lib/db/cursor'
import { DomainError } from '@/lib/errors'

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')

function rejection(cursor: string): DomainError {
  try {
    decodeCursor(cursor)
  } catch (err) {
    if (err instanceof DomainError) return err
    throw err
  }
  throw new Error(`cursor ${cursor} was accepted`)
}

describe('cursors', () => {
  it('round-trip a keyset', () => {
    const k = { at: new Date('2026-11-26T01:02:03.456Z'), id: '0199a1b2-0000-7000-8000-000000000001' }
    const cursor = encodeCursor(k)
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/)
    expect(decodeCursor(cursor)).toEqual(k)
  })

  it('treat a missing or empty cursor as the first page', () => {
    expect(decodeCursor(undefined)).toBeUndefined()
    expect(decodeCursor('')).toBeUndefined()
  })

  it.each([
    ['garbage', 'not-a-cursor!!'],
    ['base64 of non-JSON', Buffer.from('hello').toString('base64url')],
    ['JSON null', b64(null)],
    ['an object', b64({ at: '2026-01-01', id: 'x' })],
    ['a bad date', b64(['yesterday', 'x'])],
    ['a numeric id', b64(['2026-01-01T00:00:00Z', 5])],
    ['a missing id', b64(['2026-01-01T00:00:00Z'])],
  ])('reject %s as invalid input naming cursor', (_label, cursor) => {
    const err = rejection(cursor)
    expect(err.code).toBe('invalid_input')
    expect(err.details.fields).toEqual([{ field: 'cursor', message: 'is not a cursor this API returned' }])
  })
})

describe('afterCursor', () => {
  it('is empty without a cursor', () => {
    expect(afterCursor('createdAt', undefined)).toEqual({})
  })

  it('selects rows strictly after the keyset in (field desc, id desc) order, with a bound the index can use', () => {
    const at = new Date('2026-11-26T00:00:00Z')
    expect(afterCursor('createdAt', { at, id: 'm' })).toEqual({
      AND: [{ createdAt: { lte: at } }, { OR: [{ createdAt: { lt: at } }, { id: { lt: 'm' } }] }],
    })
  })

  it('keeps exactly the rows that come after the cursor', () => {
    // Evaluate the condition on sample rows as PostgreSQL would, and compare with the ordering rule.
    const t = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s))
    const rows = [0, 1, 2].flatMap((s) => ['a', 'm', 'z'].map((id) => ({ createdAt: t(s), id })))
    const cursor = { at: t(1), id: 'm' }
    const where = afterCursor('createdAt', cursor) as {
      AND: [{ createdAt: { lte: Date } }, { OR: [{ createdAt: { lt: Date } }, { id: { lt: string } }] }]
    }
    const [bound, either] = where.AND
    const kept = rows.filter(
      (r) => r.createdAt <= bound.createdAt.lte && (r.createdAt < either.OR[0].createdAt.lt || r.id < either.OR[1].id.lt),
    )
    const after = rows.filter((r) => r.createdAt < cursor.at || (r.createdAt.getTime() === cursor.at.getTime() && r.id < cursor.id))
    expect(kept).toEqual(after)
    expect(kept.map((r) => `${r.createdAt.getUTCSeconds()}${r.id}`)).toEqual(['0a', '0m', '0z', '1a'])
  })
})

describe('pageOf', () => {
  const rows = Array.from({ length: 5 }, (_, i) => ({ id: `id-${i}`, at: new Date(Date.UTC(2026, 0, 10 - i)) }))

  it('returns the page and a cursor at its last row when there is more', () => {
    const page = pageOf(rows, 4, (r) => r.at)
    expect(page.items).toEqual(rows.slice(0, 4))
    expect(page.nextCursor).not.toBeNull()
    expect(decodeCursor(page.nextCursor!)).toEqual({ at: rows[3]!.at, id: 'id-3' })
  })

  it('has no next cursor on the last page', () => {
    expect(pageOf(rows, 5, (r) => r.at)).toEqual({ items: rows, nextCursor: null })
    expect(pageOf(rows, 10, (r) => r.at)).toEqual({ items: rows, nextCursor: null })
    expect(pageOf([], 3, (r: { id: string; at: Date }) => r.at)).toEqual({ items: [], nextCursor: null })
  })
})
