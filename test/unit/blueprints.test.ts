import { describe, expect, it } from 'vitest'
import { BLUEPRINT_IDS, BLUEPRINTS, getBlueprint } from '@/lib/blueprints'
import { OPENEDX_RELEASES, ZOpenedxFeatures, ZOpenedxSettings } from '@/lib/blueprints/openedx'

describe('blueprints', () => {
  it('registers Open edX under its id', () => {
    expect(BLUEPRINT_IDS).toEqual(['openedx'])
    expect(getBlueprint('openedx')).toBe(BLUEPRINTS.openedx)
    expect(BLUEPRINTS.openedx.id).toBe('openedx')
    expect(BLUEPRINTS.openedx.label).toBe('Open edX')
  })

  it('starts a new instance on the newest release, named after the instance', () => {
    expect(BLUEPRINTS.openedx.defaultSettings({ name: 'Acme Academy' })).toEqual({
      release: OPENEDX_RELEASES[OPENEDX_RELEASES.length - 1],
      platformName: 'Acme Academy',
    })
    expect(OPENEDX_RELEASES[OPENEDX_RELEASES.length - 1]).toBe('ulmo.1')
  })

  it('needs only a contact email on top of the defaults', () => {
    const defaults = BLUEPRINTS.openedx.defaultSettings({ name: 'X' })
    expect(ZOpenedxSettings.safeParse(defaults).success).toBe(false)
    expect(ZOpenedxSettings.parse({ ...defaults, contactEmail: 'a@b.test' })).toEqual({
      release: 'ulmo.1',
      platformName: 'X',
      contactEmail: 'a@b.test',
      features: {
        allowPublicAccountCreation: true,
        enableCertificates: true,
        enableDiscussions: true,
        enableCourseDiscovery: false,
        enableThirdPartyAuth: false,
      },
    })
  })

  it('fills the features a partial object leaves out', () => {
    expect(ZOpenedxFeatures.parse({ enableCourseDiscovery: true, enableCertificates: false })).toEqual({
      allowPublicAccountCreation: true,
      enableCertificates: false,
      enableDiscussions: true,
      enableCourseDiscovery: true,
      enableThirdPartyAuth: false,
    })
  })

  it.each(OPENEDX_RELEASES)('accepts release %s', (release) => {
    expect(ZOpenedxSettings.safeParse({ release, platformName: 'X', contactEmail: 'a@b.test' }).success).toBe(true)
  })

  it('refuses unknown keys at both levels', () => {
    const base = { release: 'ulmo.1', platformName: 'X', contactEmail: 'a@b.test' }
    expect(ZOpenedxSettings.safeParse({ ...base, other: 1 }).success).toBe(false)
    expect(ZOpenedxSettings.safeParse({ ...base, features: { other: true } }).success).toBe(false)
  })
})
