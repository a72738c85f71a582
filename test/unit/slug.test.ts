import { describe, expect, it } from 'vitest'
import { firstFreeSlug, RESERVED_SLUGS, SLUG_MAX, SLUG_PATTERN, slugify, slugProblem } from '@/lib/instances/slug'

describe('slugify', () => {
  it.each([
    ['Hello World', 'hello-world'],
    ['ACME Academy', 'acme-academy'],
    ['Université de Genève', 'universite-de-geneve'],
    ['Çà et là, São Paulo', 'ca-et-la-sao-paulo'],
    ['Crème Brûlée Über Ñandú', 'creme-brulee-uber-nandu'],
    ['ＡＢＣ Ｌｅａｒｎ', 'abc-learn'],
    ['  --Foo__Bar--  ', 'foo-bar'],
    ['a   b\t\nc', 'a-b-c'],
    ['2026 Cohort #3', '2026-cohort-3'],
    ['already-a-slug', 'already-a-slug'],
    ['dots.and/slashes\\here', 'dots-and-slashes-here'],
    ['!!!', ''],
    ['', ''],
    ['日本語', ''],
  ])('%j → %j', (name, slug) => {
    expect(slugify(name)).toBe(slug)
  })

  it('cuts to 63 characters', () => {
    expect(slugify('a'.repeat(100))).toBe('a'.repeat(63))
    expect(slugify('b'.repeat(63))).toHaveLength(SLUG_MAX)
  })

  it('never ends with a hyphen after cutting', () => {
    // 62 letters then " b": the cut at 63 lands on the hyphen, which is dropped.
    expect(slugify('a'.repeat(62) + ' b')).toBe('a'.repeat(62))
    expect(slugify('a'.repeat(61) + ' b')).toBe('a'.repeat(61) + '-b')
  })

  it('honours a smaller maximum', () => {
    expect(slugify('Hello World', 7)).toBe('hello-w')
    expect(slugify('Hello World', 6)).toBe('hello')
  })

  it('produces valid slugs (or nothing) for awkward names', () => {
    const names = ['Ærø', 'Straße', '-x-', 'x'.repeat(200), 'É'.repeat(70), 'a - - - b', '—dash—', '0', 'Ünïcödé 🎓 School']
    for (const name of names) {
      const slug = slugify(name)
      if (slug) expect(slug).toMatch(SLUG_PATTERN)
      expect(slug.length).toBeLessThanOrEqual(SLUG_MAX)
    }
  })
})

describe('slugProblem', () => {
  it.each(['a', '0', 'a-b', 'a--b', 'abc123', '123abc', 'a'.repeat(63), 'demo-2'])('accepts %j', (slug) => {
    expect(slugProblem(slug)).toBeNull()
  })

  it('requires a value', () => {
    expect(slugProblem('')).toBe('is required')
  })

  it('limits the length to 63', () => {
    expect(slugProblem('a'.repeat(64))).toBe('must be at most 63 characters')
  })

  it.each(['A', 'Hello', '-a', 'a-', '-', 'a_b', 'a.b', 'a b', 'é', 'a/b', ' a'])('rejects the characters of %j', (slug) => {
    expect(slugProblem(slug)).toMatch(/may contain only a-z, 0-9 and "-"/)
  })

  it.each([...RESERVED_SLUGS])('reserves %j', (slug) => {
    expect(slugProblem(slug)).toBe('is reserved')
  })

  it('reserves the names the platform uses', () => {
    for (const name of ['www', 'api', 'admin', 'console', 'studio', 'preview']) expect(RESERVED_SLUGS.has(name)).toBe(true)
  })
})

describe('firstFreeSlug', () => {
  it.each([
    ['demo', [], 'demo'],
    ['demo', ['demo'], 'demo-2'],
    ['demo', ['demo', 'demo-2', 'demo-3'], 'demo-4'],
    ['demo', ['demo', 'demo-3'], 'demo-2'],
    ['demo', ['demo-2'], 'demo'],
    ['', [], 'instance'],
    ['', ['instance'], 'instance-2'],
    ['www', [], 'www-2'],
    ['admin', ['admin-2'], 'admin-3'],
  ])('%j with %j taken → %j', (base, taken, expected) => {
    expect(firstFreeSlug(base, new Set(taken))).toBe(expected)
  })

  it('keeps long candidates within 63 characters', () => {
    const base = 'a'.repeat(63)
    const slug = firstFreeSlug(base, new Set([base]))
    expect(slug).toBe('a'.repeat(61) + '-2')
    expect(slugProblem(slug)).toBeNull()
    const taken = new Set([base, ...Array.from({ length: 8 }, (_, i) => 'a'.repeat(61) + `-${i + 2}`)])
    const tenth = firstFreeSlug(base, taken)
    expect(tenth).toBe('a'.repeat(60) + '-10')
    expect(tenth).toHaveLength(63)
  })

  it('does not leave a double hyphen when the cut lands on one', () => {
    const base = 'a'.repeat(60) + '-bc'
    expect(firstFreeSlug(base, new Set([base]))).toBe('a'.repeat(60) + '-2')
  })

  it('always returns a valid, free slug', () => {
    for (const base of ['x', 'hello-world', 'a'.repeat(63), 'www', 'a'.repeat(59) + '-b-c']) {
      const taken = new Set([base, `${base}-2`])
      const slug = firstFreeSlug(base, taken)
      expect(taken.has(slug)).toBe(false)
      expect(slugProblem(slug)).toBeNull()
    }
  })
})
