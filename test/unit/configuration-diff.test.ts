import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { deepEqual, diffConfigurations, MASK, maskConfiguration } from '@/lib/blueprints/configuration-diff'
import { ZOpenedxSettings } from '@/lib/blueprints/openedx'
import { OPENEDX_SECRETS, renderOpenedxConfiguration, type OpenedxRenderInput } from '@/lib/blueprints/render-openedx'

const SECRET_KEYS = ['OPENEDX_SECRET_KEY', 'SMTP.PASSWORD']

const BEFORE = {
  PLATFORM_NAME: 'Acme Academy',
  OPENEDX_SECRET_KEY: 'old-secret-value',
  FEATURES: { ENABLE_DISCUSSION_SERVICE: true, ENABLE_THIRD_PARTY_AUTH: false },
  PLUGINS: ['forum', 'mfe'],
  SMTP: { HOST: 'smtp.acme.test', PASSWORD: 'old-smtp-password' },
}

describe('maskConfiguration', () => {
  it('replaces secret values, at any depth, and leaves the rest alone', () => {
    expect(maskConfiguration(BEFORE, SECRET_KEYS)).toEqual({
      ...BEFORE,
      OPENEDX_SECRET_KEY: MASK,
      SMTP: { HOST: 'smtp.acme.test', PASSWORD: MASK },
    })
    expect(MASK).toBe('••••••')
  })

  it('masks a secret that holds a mapping whole, and an empty secret too', () => {
    expect(maskConfiguration({ S: { a: 1, b: { c: 2 } }, E: '', N: null }, ['S', 'E', 'N'])).toEqual({ S: MASK, E: MASK, N: MASK })
  })

  it('ignores secret keys that are not there, and does not touch its input', () => {
    const input = structuredClone(BEFORE)
    expect(maskConfiguration(input, ['NOPE', 'FEATURES.NOPE', 'PLUGINS.0'])).toEqual(BEFORE)
    maskConfiguration(input, SECRET_KEYS)
    expect(input).toEqual(BEFORE)
  })

  it('keeps a "__proto__" key as a key', () => {
    const masked = maskConfiguration(parse('__proto__:\n  PASSWORD: p\n'), ['__proto__.PASSWORD'])
    expect(Object.getPrototypeOf(masked)).toBe(Object.prototype)
    expect(Object.keys(masked)).toEqual(['__proto__'])
    expect(Object.getOwnPropertyDescriptor(masked, '__proto__')?.value).toEqual({ PASSWORD: MASK })
  })
})

describe('diffConfigurations', () => {
  it('finds nothing between equal configurations (key order does not matter)', () => {
    const reordered = {
      ...Object.fromEntries(Object.entries(BEFORE).reverse()),
      SMTP: { PASSWORD: 'old-smtp-password', HOST: 'smtp.acme.test' },
    }
    expect(diffConfigurations(BEFORE, structuredClone(BEFORE), SECRET_KEYS)).toEqual([])
    expect(diffConfigurations(BEFORE, reordered, SECRET_KEYS)).toEqual([])
  })

  it('reads a changed secret as changed, masked on both sides', () => {
    const changes = diffConfigurations(BEFORE, { ...BEFORE, OPENEDX_SECRET_KEY: 'new-secret-value' }, SECRET_KEYS)
    expect(changes).toEqual([{ path: 'OPENEDX_SECRET_KEY', kind: 'changed', before: MASK, after: MASK }])
    expect(JSON.stringify(changes)).not.toMatch(/secret-value/)
  })

  it('names a nested change by its dotted path, masking a nested secret', () => {
    const after = {
      ...BEFORE,
      FEATURES: { ENABLE_DISCUSSION_SERVICE: true, ENABLE_THIRD_PARTY_AUTH: true },
      SMTP: { HOST: 'smtp2.acme.test', PASSWORD: 'new-smtp-password' },
    }
    expect(diffConfigurations(BEFORE, after, SECRET_KEYS)).toEqual([
      { path: 'FEATURES.ENABLE_THIRD_PARTY_AUTH', kind: 'changed', before: false, after: true },
      { path: 'SMTP.HOST', kind: 'changed', before: 'smtp.acme.test', after: 'smtp2.acme.test' },
      { path: 'SMTP.PASSWORD', kind: 'changed', before: MASK, after: MASK },
    ])
  })

  it('treats everything as added on a first deploy (before is null), secrets masked', () => {
    const changes = diffConfigurations(null, BEFORE, SECRET_KEYS)
    expect(changes).toEqual([
      { path: 'FEATURES', kind: 'added', after: BEFORE.FEATURES },
      { path: 'OPENEDX_SECRET_KEY', kind: 'added', after: MASK },
      { path: 'PLATFORM_NAME', kind: 'added', after: 'Acme Academy' },
      { path: 'PLUGINS', kind: 'added', after: ['forum', 'mfe'] },
      { path: 'SMTP', kind: 'added', after: { HOST: 'smtp.acme.test', PASSWORD: MASK } },
    ])
    expect(JSON.stringify(changes)).not.toMatch(/old-/)
  })

  it('reports removed keys with their masked value', () => {
    const { SMTP: _smtp, OPENEDX_SECRET_KEY: _key, ...after } = BEFORE
    expect(diffConfigurations(BEFORE, after, SECRET_KEYS)).toEqual([
      { path: 'OPENEDX_SECRET_KEY', kind: 'removed', before: MASK },
      { path: 'SMTP', kind: 'removed', before: { HOST: 'smtp.acme.test', PASSWORD: MASK } },
    ])
  })

  it('compares lists as values: one change showing both lists', () => {
    expect(diffConfigurations(BEFORE, { ...BEFORE, PLUGINS: ['forum', 'mfe', 's3'] }, SECRET_KEYS)).toEqual([
      { path: 'PLUGINS', kind: 'changed', before: ['forum', 'mfe'], after: ['forum', 'mfe', 's3'] },
    ])
    expect(diffConfigurations(BEFORE, { ...BEFORE, PLUGINS: ['mfe', 'forum'] }, SECRET_KEYS)).toHaveLength(1)
  })

  it('shows a mapping that became a scalar (or back) as one change', () => {
    expect(diffConfigurations(BEFORE, { ...BEFORE, SMTP: 'none' }, SECRET_KEYS)).toEqual([
      { path: 'SMTP', kind: 'changed', before: { HOST: 'smtp.acme.test', PASSWORD: MASK }, after: 'none' },
    ])
  })

  it('does not walk into a secret mapping: a change inside reads as the secret changing', () => {
    const before = { CREDS: { user: 'u', pass: 'p1' } }
    expect(diffConfigurations(before, { CREDS: { user: 'u', pass: 'p2' } }, ['CREDS'])).toEqual([
      { path: 'CREDS', kind: 'changed', before: MASK, after: MASK },
    ])
    expect(diffConfigurations(before, { CREDS: { pass: 'p1', user: 'u' } }, ['CREDS'])).toEqual([])
  })

  it('masks a secret key on either side, whichever render listed it', () => {
    const changes = diffConfigurations({ SMTP_PASSWORD: 'a-password' }, {}, ['SMTP_PASSWORD'])
    expect(changes).toEqual([{ path: 'SMTP_PASSWORD', kind: 'removed', before: MASK }])
  })

  it('sorts by path, not by walking order', () => {
    const paths = diffConfigurations(null, { a: 0, A_B: 3, 'A-B': 1, A: { x: 1 } }, []).map((c) => c.path)
    expect(paths).toEqual(['A', 'A-B', 'A_B', 'a'])
    // Walking visits "A" (and so "A.b", "A.x") before "A-B", but "-" sorts before ".".
    const nested = diffConfigurations({ A: { x: 1, b: 2 } }, { A: { x: 2, b: 3 }, 'A-B': 1 }, []).map((c) => c.path)
    expect(nested).toEqual(['A-B', 'A.b', 'A.x'])
  })

  it('treats a null value as a value, distinct from a missing key', () => {
    expect(diffConfigurations({ X: null }, { X: null }, [])).toEqual([])
    expect(diffConfigurations({ X: null }, {}, [])).toEqual([{ path: 'X', kind: 'removed', before: null }])
    expect(diffConfigurations({ X: null }, { X: 0 }, [])).toEqual([{ path: 'X', kind: 'changed', before: null, after: 0 }])
  })
})

describe('what a redeploy will change', () => {
  const secrets = Object.fromEntries(OPENEDX_SECRETS.map((spec) => [spec.name, `fake-${spec.name.toLowerCase()}`]))
  const base: OpenedxRenderInput = {
    instance: { id: 'i-1', slug: 'acme', name: 'Acme' },
    settings: ZOpenedxSettings.parse({ release: 'sumac.3', platformName: 'Acme', contactEmail: 'a@acme.test' }),
    extraSettings: {},
    hostingZone: 'example.net',
    secrets,
    resources: {},
  }

  it('lists a release bump and a new MySQL resource, with no secret in sight', () => {
    const before = renderOpenedxConfiguration(base)
    const after = renderOpenedxConfiguration({
      ...base,
      settings: { ...base.settings, release: 'teak.2' },
      resources: {
        mysql: { host: 'db.internal', port: 3306, username: 'acme', password: 'db-password-1', databases: { openedx: 'acme_edx' } },
      },
    })
    const changes = diffConfigurations(before.variables, after.variables, [...before.secretKeys, ...after.secretKeys])
    expect(changes).toEqual([
      { path: 'DOCKER_IMAGE_OPENEDX', kind: 'changed', before: 'tenon/openedx:sumac.3', after: 'tenon/openedx:teak.2' },
      { path: 'MYSQL_HOST', kind: 'changed', before: 'mysql', after: 'db.internal' },
      { path: 'MYSQL_ROOT_PASSWORD', kind: 'changed', before: MASK, after: MASK },
      { path: 'MYSQL_ROOT_USERNAME', kind: 'changed', before: 'root', after: 'acme' },
      { path: 'OPENEDX_COMMON_VERSION', kind: 'changed', before: 'open-release/sumac.3', after: 'release/teak.2' },
      { path: 'OPENEDX_MYSQL_DATABASE', kind: 'changed', before: 'openedx', after: 'acme_edx' },
      { path: 'OPENEDX_MYSQL_PASSWORD', kind: 'changed', before: MASK, after: MASK },
      { path: 'OPENEDX_MYSQL_USERNAME', kind: 'changed', before: 'openedx', after: 'acme' },
      { path: 'OPENEDX_RELEASE', kind: 'changed', before: 'sumac.3', after: 'teak.2' },
      { path: 'RUN_MYSQL', kind: 'changed', before: true, after: false },
    ])
    expect(JSON.stringify(changes)).not.toMatch(/fake-|db-password/)
  })

  it('finds nothing to change when nothing did', () => {
    const { variables, secretKeys } = renderOpenedxConfiguration(base)
    expect(diffConfigurations(variables, renderOpenedxConfiguration(structuredClone(base)).variables, secretKeys)).toEqual([])
  })
})

describe('deepEqual', () => {
  it.each([
    [1, 1, true],
    ['a', 'b', false],
    [null, null, true],
    [null, {}, false],
    [[1, { a: 2 }], [1, { a: 2 }], true],
    [[1, 2], [2, 1], false],
    [[], {}, false],
    [{ a: 1, b: 2 }, { b: 2, a: 1 }, true],
    [{ a: 1 }, { a: 1, b: undefined }, false],
    [{ a: { b: [1] } }, { a: { b: [1, 2] } }, false],
  ])('deepEqual(%j, %j) is %s', (a, b, expected) => {
    expect(deepEqual(a, b)).toBe(expected)
    expect(deepEqual(b, a)).toBe(expected)
  })
})
