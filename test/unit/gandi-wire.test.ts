import { describe, expect, it } from 'vitest'
import {
  RECORD_NAME_PATTERN,
  nextLink,
  normalizeRecordName,
  normalizeZone,
  pathSegment,
  quoteTxt,
  retryAfterMs,
  unquoteTxt,
} from '@/provisioners/dns/gandi-wire'

describe('record names', () => {
  it.each(['@', 'acme', '*.acme', '_acme-challenge.acme', 'a-b.c_d.e', '*', 'x1', 'a'.repeat(63)])('accepts %s', (name) => {
    expect(RECORD_NAME_PATTERN.test(name)).toBe(true)
  })

  it.each(['', 'ACME', 'acme.', '.acme', 'a..b', 'acme.*', 'a*.b', '-acme', 'acme-', 'ac me', 'a/b', '@.acme', 'a'.repeat(64), '..'])(
    'refuses %j',
    (name) => {
      expect(RECORD_NAME_PATTERN.test(name)).toBe(false)
    },
  )

  it('lower-cases names and takes "" for the apex', () => {
    expect(normalizeRecordName('WWW.Acme')).toBe('www.acme')
    expect(normalizeRecordName('')).toBe('@')
    expect(normalizeRecordName(' @ ')).toBe('@')
  })

  it('normalizes a zone', () => {
    expect(normalizeZone('Hosting.Example.NET.')).toBe('hosting.example.net')
  })

  it('keeps "@" and "*" as they are in paths and encodes what could leave the segment', () => {
    expect(pathSegment('@')).toBe('@')
    expect(pathSegment('*.acme')).toBe('*.acme')
    expect(pathSegment('a/b?c#d')).toBe('a%2Fb%3Fc%23d')
  })
})

describe('TXT values', () => {
  it.each([
    ['abc', '"abc"'],
    ['', '""'],
    ['v=spf1 include:example.net ~all', '"v=spf1 include:example.net ~all"'],
    ['say "hi"', '"say \\"hi\\""'],
    ['back\\slash', '"back\\\\slash"'],
  ])('quotes %j as %s', (value, wire) => {
    expect(quoteTxt(value)).toBe(wire)
    expect(unquoteTxt(wire)).toBe(value)
  })

  it('splits a value longer than 255 bytes into several strings, and joins them back', () => {
    const value = 'k'.repeat(600)
    const wire = quoteTxt(value)
    expect(wire).toBe(`"${'k'.repeat(255)}" "${'k'.repeat(255)}" "${'k'.repeat(90)}"`)
    expect(unquoteTxt(wire)).toBe(value)
  })

  it('splits by bytes without cutting a UTF-8 character', () => {
    const value = 'é'.repeat(200) // 400 bytes
    const wire = quoteTxt(value)
    const strings = [...wire.matchAll(/"([^"]*)"/g)].map((m) => m[1] ?? '')
    expect(strings.map((s) => Buffer.byteLength(s))).toEqual([254, 146])
    expect(unquoteTxt(wire)).toBe(value)
  })

  it('counts the 255 bytes before escaping', () => {
    const value = '"'.repeat(255)
    expect([...quoteTxt(value).matchAll(/" "/g)]).toHaveLength(0)
    expect(unquoteTxt(quoteTxt(value))).toBe(value)
  })

  it('joins strings separated by any whitespace', () => {
    expect(unquoteTxt('"ab"  "c"\t"d"')).toBe('abcd')
  })

  it('returns a value that is not in quotes (written by another tool) as it is', () => {
    expect(unquoteTxt('bare value')).toBe('bare value')
    expect(unquoteTxt('"unbalanced')).toBe('"unbalanced')
    expect(unquoteTxt('"a" b')).toBe('"a" b')
  })
})

describe('Retry-After', () => {
  const now = Date.parse('2026-11-25T12:00:00Z')

  it('reads delay-seconds', () => {
    expect(retryAfterMs('120', now)).toBe(120_000)
    expect(retryAfterMs(' 0 ', now)).toBe(0)
  })

  it('reads an HTTP date', () => {
    expect(retryAfterMs('Wed, 25 Nov 2026 12:00:30 GMT', now)).toBe(30_000)
  })

  it('takes a date in the past as no wait', () => {
    expect(retryAfterMs('Wed, 25 Nov 2026 11:00:00 GMT', now)).toBe(0)
  })

  it.each([null, undefined, '', 'soon', '-5', '1.5', 'Tomorrow'])('ignores %j', (header) => {
    expect(retryAfterMs(header, now)).toBeUndefined()
  })
})

describe('Link header', () => {
  const base = 'https://api.example.test/v5/livedns/domains/z/records'

  it('finds the next page among other relations', () => {
    const header =
      '<https://api.example.test/v5/livedns/domains/z/records?page=2&per_page=2>; rel="next", <https://api.example.test/v5/livedns/domains/z/records?page=5&per_page=2>; rel="last"'
    expect(nextLink(header, base)).toBe('https://api.example.test/v5/livedns/domains/z/records?page=2&per_page=2')
  })

  it('takes unquoted and multi-valued relations, and relative targets', () => {
    expect(nextLink('</v5/livedns/domains/z/records?page=3>; rel=next', base)).toBe(
      'https://api.example.test/v5/livedns/domains/z/records?page=3',
    )
    expect(nextLink('<?page=4>; title="x"; rel="prefetch next"', base)).toBe('https://api.example.test/v5/livedns/domains/z/records?page=4')
  })

  it('answers undefined without a next relation', () => {
    expect(nextLink(null, base)).toBeUndefined()
    expect(nextLink('', base)).toBeUndefined()
    expect(nextLink('<https://api.example.test/x?page=1>; rel="prev"', base)).toBeUndefined()
    expect(nextLink('<https://api.example.test/x?page=1>; rel="nextish"', base)).toBeUndefined()
  })
})
