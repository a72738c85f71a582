import { describe, expect, it } from 'vitest'
import { mergeSettings, validateSettings } from '@/lib/instances/validate-settings'

const valid = { release: 'ulmo.1', platformName: 'Acme Academy', contactEmail: 'help@acme.test' }
const fieldsOf = (settings: Record<string, unknown>) => {
  const result = validateSettings('openedx', settings)
  return result.ok ? [] : result.fields.map((f) => f.field)
}

describe('validateSettings (openedx)', () => {
  it('accepts valid settings and fills the feature defaults', () => {
    expect(validateSettings('openedx', valid)).toEqual({
      ok: true,
      settings: {
        ...valid,
        features: {
          allowPublicAccountCreation: true,
          enableCertificates: true,
          enableDiscussions: true,
          enableCourseDiscovery: false,
          enableThirdPartyAuth: false,
        },
      },
    })
  })

  it('trims the platform name', () => {
    const result = validateSettings('openedx', { ...valid, platformName: '  Acme  ' })
    expect(result.ok && result.settings.platformName).toBe('Acme')
  })

  it.each([
    ['a missing contact email', { release: 'ulmo.1', platformName: 'X' }, ['settings.contactEmail']],
    ['a bad contact email', { ...valid, contactEmail: 'not-an-email' }, ['settings.contactEmail']],
    ['an unknown release', { ...valid, release: 'quince.9' }, ['settings.release']],
    ['a missing release', { platformName: 'X', contactEmail: 'a@b.test' }, ['settings.release']],
    ['a blank platform name', { ...valid, platformName: '   ' }, ['settings.platformName']],
    ['a long platform name', { ...valid, platformName: 'x'.repeat(101) }, ['settings.platformName']],
    ['a wrongly typed platform name', { ...valid, platformName: 42 }, ['settings.platformName']],
    ['a wrongly typed feature', { ...valid, features: { enableCertificates: 'yes' } }, ['settings.features.enableCertificates']],
    ['features that are not an object', { ...valid, features: [] }, ['settings.features']],
  ])('names the field for %s', (_label, settings, fields) => {
    expect(fieldsOf(settings)).toEqual(fields)
  })

  it('reports an unknown key on the key itself', () => {
    const result = validateSettings('openedx', { ...valid, colour: 'blue', size: 3 })
    expect(result).toEqual({
      ok: false,
      fields: [
        { field: 'settings.colour', message: 'is not a known setting' },
        { field: 'settings.size', message: 'is not a known setting' },
      ],
    })
  })

  it('reports an unknown nested key with its full path', () => {
    expect(fieldsOf({ ...valid, features: { enableWiki: true } })).toEqual(['settings.features.enableWiki'])
  })

  it('reports every problem at once', () => {
    expect(fieldsOf({ release: 'nope', platformName: '', contactEmail: 'x', extra: 1 }).sort()).toEqual([
      'settings.contactEmail',
      'settings.extra',
      'settings.platformName',
      'settings.release',
    ])
  })

  it('gives a message a person can act on', () => {
    const result = validateSettings('openedx', { ...valid, contactEmail: 'nope' })
    expect(result.ok).toBe(false)
    if (!result.ok) expect(result.fields[0]!.message).toBe('must be an email address')
  })
})

describe('mergeSettings', () => {
  it('merges nested objects, the patch winning', () => {
    const current = {
      release: 'teak.2',
      features: { enableCertificates: true, enableDiscussions: true },
      theme: { colours: { primary: 'red' } },
    }
    const patch = { features: { enableDiscussions: false }, theme: { colours: { accent: 'blue' } } }
    expect(mergeSettings(current, patch)).toEqual({
      release: 'teak.2',
      features: { enableCertificates: true, enableDiscussions: false },
      theme: { colours: { primary: 'red', accent: 'blue' } },
    })
  })

  it('replaces arrays and scalars instead of merging them', () => {
    expect(mergeSettings({ hosts: ['a', 'b'], n: 1 }, { hosts: ['c'], n: 2 })).toEqual({ hosts: ['c'], n: 2 })
  })

  it('replaces an object with a scalar, null or array and the other way round', () => {
    expect(mergeSettings({ a: { x: 1 }, b: 1, c: { y: 1 }, d: { z: 1 } }, { a: 'flat', b: { x: 1 }, c: null, d: [1] })).toEqual({
      a: 'flat',
      b: { x: 1 },
      c: null,
      d: [1],
    })
  })

  it('keeps what the patch does not mention and adds what it does', () => {
    expect(mergeSettings({ a: 1 }, {})).toEqual({ a: 1 })
    expect(mergeSettings({}, { a: { b: 1 } })).toEqual({ a: { b: 1 } })
  })

  it('does not change its inputs', () => {
    const current = { features: { a: true } }
    const patch = { features: { b: false } }
    mergeSettings(current, patch)
    expect(current).toEqual({ features: { a: true } })
    expect(patch).toEqual({ features: { b: false } })
  })
})
