import { describe, expect, it } from 'vitest'
import { diffRecords, redact, REDACTED } from '@/lib/audit/redact'

describe('diffRecords', () => {
  it('lists only the fields that changed', () => {
    expect(diffRecords({ name: 'A', slug: 'a', status: 'new' }, { name: 'B', slug: 'a', status: 'new' })).toEqual({
      name: { before: 'A', after: 'B' },
    })
  })

  it('returns nothing for equal records', () => {
    expect(diffRecords({ a: 1, b: { c: [1, 2] } }, { a: 1, b: { c: [1, 2] } })).toEqual({})
    expect(diffRecords(null, null)).toEqual({})
  })

  it('walks nested objects into dotted paths', () => {
    const before = { settings: { release: 'teak.2', features: { enableCertificates: true, enableDiscussions: true } } }
    const after = { settings: { release: 'ulmo.1', features: { enableCertificates: false, enableDiscussions: true } } }
    expect(diffRecords(before, after)).toEqual({
      'settings.release': { before: 'teak.2', after: 'ulmo.1' },
      'settings.features.enableCertificates': { before: true, after: false },
    })
  })

  it('records creations with "after" only and deletions with "before" only', () => {
    expect(diffRecords(null, { name: 'A', n: 0 })).toEqual({ name: { after: 'A' }, n: { after: 0 } })
    expect(diffRecords({ name: 'A' }, null)).toEqual({ name: { before: 'A' } })
    const added = diffRecords({ a: 1 }, { a: 1, b: 2 })
    expect(added).toEqual({ b: { after: 2 } })
    expect('before' in added.b!).toBe(false)
  })

  it('records an object appearing or disappearing as a whole', () => {
    expect(diffRecords({}, { settings: { a: 1 } })).toEqual({ settings: { after: { a: 1 } } })
    expect(diffRecords({ settings: { a: 1 } }, { settings: null })).toEqual({ settings: { before: { a: 1 }, after: null } })
  })

  it('compares arrays as values', () => {
    expect(diffRecords({ hosts: ['a'] }, { hosts: ['a', 'b'] })).toEqual({ hosts: { before: ['a'], after: ['a', 'b'] } })
  })

  it('compares dates by instant and writes them as ISO strings', () => {
    const t = '2026-11-26T01:00:00.000Z'
    expect(diffRecords({ at: new Date(t) }, { at: new Date(t) })).toEqual({})
    expect(diffRecords({ at: new Date(t) }, { at: t })).toEqual({})
    expect(diffRecords({ at: new Date(t) }, { at: new Date('2026-11-27T01:00:00.000Z') })).toEqual({
      at: { before: t, after: '2026-11-27T01:00:00.000Z' },
    })
    expect(diffRecords(null, { expiresAt: new Date(t) })).toEqual({ expiresAt: { after: t } })
  })

  it.each([
    'password',
    'Password',
    'passwd',
    'secret',
    'clientSecret',
    'token',
    'accessToken',
    'tokenHash',
    'apiToken',
    'privateKey',
    'credentials',
    'apiKey',
    'api_key',
    'api-key',
    'key',
  ])('redacts a changed %s field', (key) => {
    expect(diffRecords({ [key]: 'old-value' }, { [key]: 'new-value' })).toEqual({ [key]: { before: REDACTED, after: REDACTED } })
  })

  it('redacts secret fields at any depth', () => {
    const diff = diffRecords(
      { settings: { smtp: { host: 'a', password: 'p1' } } },
      { settings: { smtp: { host: 'b', password: 'p2' } }, s3: { bucket: 'x', credentials: { accessKey: 'AK', secretKey: 'SK' } } },
    )
    expect(diff).toEqual({
      'settings.smtp.host': { before: 'a', after: 'b' },
      'settings.smtp.password': { before: REDACTED, after: REDACTED },
      s3: { after: { bucket: 'x', credentials: REDACTED } },
    })
    const json = JSON.stringify(diff)
    for (const secret of ['p1', 'p2', 'AK', 'SK']) expect(json).not.toContain(`"${secret}"`)
  })

  it('redacts secrets inside arrays and new objects', () => {
    expect(diffRecords(null, { users: [{ name: 'a', token: 't1' }], db: { user: 'u', password: 'pw' } })).toEqual({
      users: { after: [{ name: 'a', token: REDACTED }] },
      db: { after: { user: 'u', password: REDACTED } },
    })
  })

  it('leaves unchanged secret fields out entirely', () => {
    expect(diffRecords({ password: 'same', name: 'a' }, { password: 'same', name: 'b' })).toEqual({ name: { before: 'a', after: 'b' } })
  })

  it('does not redact ordinary fields that merely contain "key" inside a word', () => {
    expect(diffRecords(null, { monkey: 'm', keyboard: 'k' })).toEqual({ monkey: { after: 'm' }, keyboard: { after: 'k' } })
  })

  it('does not redact a count of tokens, but does redact token fields', () => {
    expect(diffRecords(null, { apiTokens: 3, tokens: 2, tokenHash: 'h', refreshToken: 'r' })).toEqual({
      apiTokens: { after: 3 },
      tokens: { after: 2 },
      tokenHash: { after: REDACTED },
      refreshToken: { after: REDACTED },
    })
  })
})

describe('redact', () => {
  it('replaces secret values at any depth and keeps the rest', () => {
    expect(redact({ a: 1, nested: { password: 'x', list: [{ apiKey: 'y', ok: true }] } })).toEqual({
      a: 1,
      nested: { password: REDACTED, list: [{ apiKey: REDACTED, ok: true }] },
    })
  })

  it('returns scalars and dates unchanged', () => {
    const d = new Date()
    expect(redact('s')).toBe('s')
    expect(redact(null)).toBe(null)
    expect(redact(d)).toBe(d)
  })
})
