import { createHash, createPrivateKey, randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { BLUEPRINTS, type InstanceResources, type RandomBytes } from '@/lib/blueprints'
import { maskConfiguration } from '@/lib/blueprints/configuration-diff'
import { OPENEDX_RELEASE_GIT_REFS, OPENEDX_RELEASES, ZOpenedxSettings, type TOpenedxSettings } from '@/lib/blueprints/openedx'
import {
  generateMissingOpenedxSecrets,
  mergeExtraSettings,
  OPENEDX_SECRETS,
  openedxHostnames,
  randomToken,
  renderOpenedxConfiguration,
  type OpenedxRenderInput,
} from '@/lib/blueprints/render-openedx'

/** A deterministic stand-in for node:crypto's randomBytes: SHA-256 of a seed and a counter. */
function seededBytes(seed: string): RandomBytes {
  let counter = 0
  return (size) => {
    const out = Buffer.alloc(size)
    for (let offset = 0; offset < size; offset += 32) createHash('sha256').update(`${seed}:${counter++}`).digest().copy(out, offset)
    return out
  }
}

const FAKE_RSA_KEY = '-----BEGIN RSA PRIVATE KEY-----\nFAKEKEYFORTESTSONLY\n-----END RSA PRIVATE KEY-----\n'
const fakeRsa = () => FAKE_RSA_KEY

/** Obviously fake values, distinct from each other and from every other value a render holds. */
const SECRETS = Object.fromEntries(
  OPENEDX_SECRETS.map((s) => [s.name, s.kind === 'random' ? `fake-${s.name.toLowerCase()}-value` : FAKE_RSA_KEY]),
)

const SETTINGS: TOpenedxSettings = ZOpenedxSettings.parse({
  release: 'sumac.3',
  platformName: 'Acme Academy',
  contactEmail: 'help@acme.test',
})

const ALL_RESOURCES: InstanceResources = {
  mysql: { host: 'mysql.internal', port: 3306, username: 'acme_u', password: 'mysqlPw-7Qx9', databases: { openedx: 'acme_edxapp' } },
  mongodb: {
    host: 'mongo.internal',
    port: 27017,
    username: 'acme_m',
    password: 'mongoPw-3Zk1',
    databases: { openedx: 'acme_modulestore', forum: 'acme_forum' },
    authSource: 'acme_modulestore',
    replicaSet: 'rs0',
    tls: true,
  },
  rabbitmq: { host: 'rabbit.internal', port: 5671, vhost: '/acme', username: 'acme_r', password: 'rabbit/Pw@8', tls: true },
  s3: {
    endpoint: 'http://127.0.0.1:4569',
    region: 'gra',
    bucket: 'tenon-acme',
    accessKeyId: 'AKIDACME123',
    secretAccessKey: 's3SecretAcme99',
    pathStyle: true,
  },
}

function input(overrides: Partial<OpenedxRenderInput> = {}): OpenedxRenderInput {
  return {
    instance: { id: '0199a1b2-0000-7000-8000-000000000001', slug: 'acme', name: 'Acme Academy' },
    settings: SETTINGS,
    extraSettings: {},
    hostingZone: 'instances.example.net',
    secrets: SECRETS,
    resources: {},
    ...overrides,
  }
}

describe('renderOpenedxConfiguration: snapshots', () => {
  it('defaults: no resources, no extra settings', () => {
    const rendered = renderOpenedxConfiguration(input())
    expect(rendered.localFallbacks).toEqual(['mysql', 'mongodb', 'rabbitmq', 's3'])
    expect(rendered).toMatchSnapshot()
  })

  it('every feature toggled from its default', () => {
    const features = {
      allowPublicAccountCreation: false,
      enableCertificates: false,
      enableDiscussions: false,
      enableCourseDiscovery: true,
      enableThirdPartyAuth: true,
    }
    const rendered = renderOpenedxConfiguration(input({ settings: { ...SETTINGS, features } }))
    expect(rendered.variables.FEATURES).toEqual({
      ALLOW_PUBLIC_ACCOUNT_CREATION: false,
      CERTIFICATES_HTML_VIEW: false,
      ENABLE_DISCUSSION_SERVICE: false,
      ENABLE_COURSE_DISCOVERY: true,
      ENABLE_THIRD_PARTY_AUTH: true,
    })
    // Without discussions the forum service is not run at all.
    expect(rendered.variables.PLUGINS).toEqual(['mfe'])
    expect(rendered).toMatchSnapshot()
  })

  it('with every resource provided', () => {
    const rendered = renderOpenedxConfiguration(input({ resources: ALL_RESOURCES }))
    expect(rendered.localFallbacks).toEqual([])
    expect(rendered.variables).toMatchObject({
      RUN_MYSQL: false,
      RUN_MONGODB: false,
      CELERY_BROKER_TRANSPORT: 'amqp',
      // user, password and vhost are URL-encoded; TLS switches the scheme
      CELERY_BROKER_URL: 'amqps://acme_r:rabbit%2FPw%408@rabbit.internal:5671/%2Facme',
      S3_HOST: '127.0.0.1',
      S3_PORT: 4569,
      S3_USE_SSL: false,
      PLUGINS: ['forum', 'mfe', 's3'],
    })
    expect(rendered).toMatchSnapshot()
  })

  it('with extra settings overriding (deep merge: mappings merge, everything else replaces)', () => {
    const extraSettings: Record<string, unknown> = parse(
      [
        'PLATFORM_NAME: Acme Learning', // a scalar replaces
        'FEATURES:', // a mapping merges key by key
        '  ENABLE_THIRD_PARTY_AUTH: true',
        '  ENABLE_SPECIAL_EXAMS: true',
        'PLUGINS: [mfe, notes]', // a list replaces, never appends
        'LMS_HOST_ALTS: null', // null replaces too
        'SMTP_HOST: smtp.acme.test', // new keys are added
        'SMTP_PASSWORD: smtpPw-4Lm2', // and masked when they look secret
        'SOCIAL_AUTH:',
        '  OAUTH_SECRETS:',
        '    azuread-oauth2: azurePw-5Rt7',
        '  REDIRECT_IS_HTTPS: true',
      ].join('\n'),
    )
    const rendered = renderOpenedxConfiguration(input({ extraSettings }))
    expect(rendered.variables).toMatchObject({
      PLATFORM_NAME: 'Acme Learning',
      FEATURES: {
        ALLOW_PUBLIC_ACCOUNT_CREATION: true,
        CERTIFICATES_HTML_VIEW: true,
        ENABLE_DISCUSSION_SERVICE: true,
        ENABLE_COURSE_DISCOVERY: false,
        ENABLE_THIRD_PARTY_AUTH: true,
        ENABLE_SPECIAL_EXAMS: true,
      },
      PLUGINS: ['mfe', 'notes'],
      LMS_HOST_ALTS: null,
      SMTP_HOST: 'smtp.acme.test',
    })
    expect(rendered.secretKeys).toContain('SMTP_PASSWORD')
    expect(rendered.secretKeys).toContain('SOCIAL_AUTH.OAUTH_SECRETS')
    expect(rendered.secretKeys).not.toContain('SOCIAL_AUTH.REDIRECT_IS_HTTPS')
    expect(rendered).toMatchSnapshot()
  })

  it('with custom hostnames: LMS aliases, lowercased, de-duplicated, sorted; the base hostnames are left out', () => {
    const customHostnames = ['learn.acme.test', 'Courses.Acme.TEST', 'learn.acme.test', 'studio.acme.instances.example.net']
    const rendered = renderOpenedxConfiguration(input({ customHostnames }))
    expect(rendered.variables.LMS_HOST).toBe('acme.instances.example.net')
    expect(rendered.variables.LMS_HOST_ALTS).toEqual(['courses.acme.test', 'learn.acme.test'])
    expect(rendered).toMatchSnapshot()
  })
})

describe('renderOpenedxConfiguration: rules', () => {
  it('serves the LMS on SLUG.ZONE and Studio, preview and the MFEs under it', () => {
    expect(openedxHostnames({ slug: 'acme' }, 'instances.example.net')).toEqual([
      { role: 'lms', hostname: 'acme.instances.example.net' },
      { role: 'studio', hostname: 'studio.acme.instances.example.net' },
      { role: 'preview', hostname: 'preview.acme.instances.example.net' },
      { role: 'mfe', hostname: 'apps.acme.instances.example.net' },
    ])
    const { variables } = renderOpenedxConfiguration(input())
    expect([variables.LMS_HOST, variables.CMS_HOST, variables.PREVIEW_LMS_HOST, variables.MFE_HOST]).toEqual(
      openedxHostnames({ slug: 'acme' }, 'instances.example.net').map((h) => h.hostname),
    )
    expect(BLUEPRINTS.openedx.hostnames).toBe(openedxHostnames)
  })

  it.each(OPENEDX_RELEASES)('derives the image and the git tag from release %s', (release) => {
    const { variables } = renderOpenedxConfiguration(
      input({ settings: { ...SETTINGS, release }, imageRepository: 'registry.internal/openedx' }),
    )
    expect(variables.OPENEDX_RELEASE).toBe(release)
    expect(variables.DOCKER_IMAGE_OPENEDX).toBe(`registry.internal/openedx:${release}`)
    expect(variables.OPENEDX_COMMON_VERSION).toBe(OPENEDX_RELEASE_GIT_REFS[release])
  })

  it('names the git tags with the prefix Open edX used for each release', () => {
    expect(OPENEDX_RELEASE_GIT_REFS).toEqual({
      'redwood.3': 'open-release/redwood.3',
      'sumac.3': 'open-release/sumac.3',
      'teak.2': 'release/teak.2',
      'ulmo.1': 'release/ulmo.1',
    })
  })

  it('uses http URLs when HTTPS is off', () => {
    const { variables } = renderOpenedxConfiguration(input({ enableHttps: false }))
    expect(variables.ENABLE_HTTPS).toBe(false)
    expect(variables.JWT_COMMON_ISSUER).toBe('http://acme.instances.example.net/oauth2')
  })

  it("carries the appserver's id only when rendering for one appserver", () => {
    expect(renderOpenedxConfiguration(input()).variables).not.toHaveProperty('TENON_APPSERVER_ID')
    const { variables } = renderOpenedxConfiguration(input({ appserver: { id: 'app-1' } }))
    expect(variables.TENON_APPSERVER_ID).toBe('app-1')
    expect(variables.ID).toBe('0199a1b2-0000-7000-8000-000000000001')
  })

  it('answers its health check on /heartbeat', () => {
    expect(renderOpenedxConfiguration(input()).healthPath).toBe('/heartbeat')
    expect(BLUEPRINTS.openedx.healthPath).toBe('/heartbeat')
  })

  it('refuses to render without the generated secrets', () => {
    const { CMS_OAUTH2_SECRET: _dropped, ...secrets } = SECRETS
    expect(() => renderOpenedxConfiguration(input({ secrets }))).toThrow(/secrets missing: CMS_OAUTH2_SECRET/)
  })

  it('names a resource that lacks a database the blueprint reads', () => {
    const mongodb = { ...ALL_RESOURCES.mongodb!, databases: { openedx: 'acme_modulestore' } }
    expect(() => renderOpenedxConfiguration(input({ resources: { mongodb } }))).toThrow(/MongoDB resource has no "forum" database/)
  })

  it('declares the database purposes it reads', () => {
    expect(BLUEPRINTS.openedx.resourceNeeds).toEqual({
      mysql: { databases: ['openedx'] },
      mongodb: { databases: ['openedx', 'forum'] },
      rabbitmq: {},
      s3: {},
    })
  })

  it('renders through the registry, parsing stored settings (missing features take their defaults)', () => {
    const stored = { release: 'sumac.3', platformName: 'Acme Academy', contactEmail: 'help@acme.test' }
    const viaRegistry = BLUEPRINTS.openedx.renderConfiguration({ ...input(), settings: stored })
    expect(viaRegistry).toEqual(renderOpenedxConfiguration(input()))
    expect(() => BLUEPRINTS.openedx.renderConfiguration({ ...input(), settings: { ...stored, release: 'nope' } })).toThrow()
  })

  it('leaves its inputs untouched and shares no object with them', () => {
    const extraSettings = { FEATURES: { X: true }, LIST: [1, 2] }
    const frozen = structuredClone(extraSettings)
    const rendered = renderOpenedxConfiguration(input({ extraSettings, resources: ALL_RESOURCES }))
    const { LIST, FEATURES } = rendered.variables
    if (!Array.isArray(LIST) || !FEATURES || typeof FEATURES !== 'object') throw new Error('unexpected shape')
    LIST.push(3)
    Object.assign(FEATURES, { Y: 1 })
    expect(extraSettings).toEqual(frozen)
    expect(SETTINGS.features.enableCertificates).toBe(true)
  })
})

describe('mergeExtraSettings', () => {
  it('merges mappings at every depth and replaces everything else', () => {
    const base = { a: { b: { c: 1, d: 2 }, list: [1, 2] }, s: 'x', n: null, m: { k: 1 } }
    const extra = { a: { b: { d: 3, e: 4 }, list: [9] }, s: { now: 'a mapping' }, n: { k: 1 }, m: 'scalar' }
    expect(mergeExtraSettings(base, extra)).toEqual({
      a: { b: { c: 1, d: 3, e: 4 }, list: [9] },
      s: { now: 'a mapping' },
      n: { k: 1 },
      m: 'scalar',
    })
  })

  it('keeps a "__proto__" key from YAML as a key, never as a prototype', () => {
    const extra: Record<string, unknown> = parse('__proto__:\n  polluted: true\nFEATURES:\n  __proto__:\n    polluted: true\n')
    const merged = mergeExtraSettings({ FEATURES: { A: true } }, extra)
    expect(Object.getPrototypeOf(merged)).toBe(Object.prototype)
    expect(Object.keys(merged).sort()).toEqual(['FEATURES', '__proto__'])
    expect(merged).not.toHaveProperty('polluted')
    expect(merged.FEATURES).not.toHaveProperty('polluted')
    expect(Object.keys(merged.FEATURES ?? {}).sort()).toEqual(['A', '__proto__'])
    expect({}).not.toHaveProperty('polluted')
  })
})

describe('secrets', () => {
  it('declares what it needs', () => {
    expect(BLUEPRINTS.openedx.secretsToGenerate).toBe(OPENEDX_SECRETS)
    expect(OPENEDX_SECRETS.map((s) => [s.name, s.kind === 'random' ? s.length : s.bits])).toEqual([
      ['OPENEDX_SECRET_KEY', 48],
      ['JWT_COMMON_SECRET_KEY', 48],
      ['JWT_RSA_PRIVATE_KEY', 2048],
      ['CMS_OAUTH2_SECRET', 48],
      ['MYSQL_ROOT_PASSWORD', 32],
      ['OPENEDX_MYSQL_PASSWORD', 32],
    ])
  })

  it('generates every missing secret, deterministically for a given byte source', () => {
    const a = generateMissingOpenedxSecrets({}, seededBytes('s'), fakeRsa)
    expect(a).toEqual(generateMissingOpenedxSecrets({}, seededBytes('s'), fakeRsa))
    expect(a).not.toEqual(generateMissingOpenedxSecrets({}, seededBytes('t'), fakeRsa))
    for (const spec of OPENEDX_SECRETS) {
      if (spec.kind === 'random') expect(a[spec.name]).toMatch(new RegExp(`^[A-Za-z0-9]{${spec.length}}$`))
      else expect(a[spec.name]).toBe(FAKE_RSA_KEY)
    }
    expect(new Set(Object.values(a)).size).toBe(OPENEDX_SECRETS.length)
  })

  it('never changes an existing secret, keeps undeclared ones, and fills only the missing or empty', () => {
    const existing = {
      OPENEDX_SECRET_KEY: 'kept-as-is',
      JWT_RSA_PRIVATE_KEY: 'kept-key',
      RETIRED_SECRET: 'still-here',
      CMS_OAUTH2_SECRET: '',
    }
    let rsaCalls = 0
    const out = generateMissingOpenedxSecrets(existing, seededBytes('x'), () => {
      rsaCalls++
      return FAKE_RSA_KEY
    })
    expect(rsaCalls).toBe(0)
    expect(out).toMatchObject({ OPENEDX_SECRET_KEY: 'kept-as-is', JWT_RSA_PRIVATE_KEY: 'kept-key', RETIRED_SECRET: 'still-here' })
    expect(out.CMS_OAUTH2_SECRET).toMatch(/^[A-Za-z0-9]{48}$/)
    expect(Object.keys(out).sort()).toEqual([...OPENEDX_SECRETS.map((s) => s.name), 'RETIRED_SECRET'].sort())
    expect(existing.CMS_OAUTH2_SECRET).toBe('')
    // A second pass over a complete set is the identity.
    expect(generateMissingOpenedxSecrets(out, seededBytes('y'), fakeRsa)).toEqual(out)
  })

  it('draws characters without bias: bytes that would favour some letters are skipped', () => {
    // 248..255 would map onto the first 8 characters a second time: they must be dropped, not used.
    let call = 0
    const bytes: RandomBytes = (size) =>
      call++ === 0 ? Uint8Array.from({ length: size }, (_, i) => (i % 2 ? 255 : 248 + (i % 8))) : new Uint8Array(size).fill(61)
    expect(randomToken(4, bytes)).toBe('9999')
  })

  it('by default makes a real 2048-bit RSA key (PKCS#1 PEM) with node:crypto', () => {
    const out = generateMissingOpenedxSecrets({}, randomBytes)
    const pem = out.JWT_RSA_PRIVATE_KEY!
    expect(pem).toMatch(/^-----BEGIN RSA PRIVATE KEY-----\n/)
    const key = createPrivateKey(pem)
    expect(key.asymmetricKeyType).toBe('rsa')
    expect(key.asymmetricKeyDetails?.modulusLength).toBe(2048)
  })
})

describe('renderOpenedxConfiguration: properties over every feature and resource combination', () => {
  const extraVariants: Record<string, unknown>[] = [
    {},
    { SMTP_PASSWORD: 'extraSmtpPw-9Vb3', FEATURES: { ENABLE_X: true }, NESTED: { API_KEY: 'extraApiKey-2Nc8', plain: 1 } },
  ]
  const cases: OpenedxRenderInput[] = []
  const bit = (n: number, i: number) => (n & (1 << i)) !== 0
  for (let f = 0; f < 2 ** 5; f++) {
    for (let r = 0; r < 2 ** 4; r++) {
      const features = {
        allowPublicAccountCreation: bit(f, 0),
        enableCertificates: bit(f, 1),
        enableDiscussions: bit(f, 2),
        enableCourseDiscovery: bit(f, 3),
        enableThirdPartyAuth: bit(f, 4),
      }
      const resources: InstanceResources = {
        ...(bit(r, 0) ? { mysql: ALL_RESOURCES.mysql } : {}),
        ...(bit(r, 1) ? { mongodb: ALL_RESOURCES.mongodb } : {}),
        ...(bit(r, 2) ? { rabbitmq: ALL_RESOURCES.rabbitmq } : {}),
        ...(bit(r, 3) ? { s3: ALL_RESOURCES.s3 } : {}),
      }
      cases.push(input({ settings: { ...SETTINGS, features }, resources, extraSettings: extraVariants[(f + r) % 2]! }))
    }
  }

  /** Every value the render was given that must never show: generated secrets and resource credentials. */
  const secretValues = [
    ...Object.values(SECRETS),
    ALL_RESOURCES.mysql!.password,
    ALL_RESOURCES.mongodb!.password,
    ALL_RESOURCES.rabbitmq!.password,
    encodeURIComponent(ALL_RESOURCES.rabbitmq!.password),
    ALL_RESOURCES.s3!.accessKeyId,
    ALL_RESOURCES.s3!.secretAccessKey,
    'extraSmtpPw-9Vb3',
    'extraApiKey-2Nc8',
  ]

  function leaves(value: unknown, path = ''): [string, unknown][] {
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      return Object.entries(value).flatMap(([k, v]) => leaves(v, path ? `${path}.${k}` : k))
    }
    return [[path, value]]
  }

  it(`covers ${2 ** 5 * 2 ** 4} combinations`, () => {
    expect(cases).toHaveLength(512)
  })

  it('is deterministic', () => {
    const differing = cases.filter(
      (c) => JSON.stringify(renderOpenedxConfiguration(structuredClone(c))) !== JSON.stringify(renderOpenedxConfiguration(c)),
    )
    expect(differing).toEqual([])
  })

  it('lists every place a secret lands in secretKeys, and only paths that exist', () => {
    const problems = new Set<string>()
    for (const c of cases) {
      const { variables, secretKeys } = renderOpenedxConfiguration(c)
      const paths = leaves(variables).map(([p]) => p)
      for (const key of secretKeys) {
        if (!paths.some((p) => p === key || p.startsWith(`${key}.`))) problems.add(`listed but absent: ${key}`)
      }
      for (const [path, value] of leaves(variables)) {
        const text = JSON.stringify(value)
        const holdsSecret = secretValues.some((v) => v && text.includes(v))
        if (holdsSecret && !secretKeys.some((k) => path === k || path.startsWith(`${k}.`)))
          problems.add(`secret outside secretKeys: ${path}`)
      }
      for (const spec of OPENEDX_SECRETS) {
        if (Object.hasOwn(variables, spec.name) && !secretKeys.includes(spec.name)) problems.add(`unlisted: ${spec.name}`)
      }
    }
    expect([...problems]).toEqual([])
  })

  it('shows no secret value anywhere once masked', () => {
    const leaked = new Set<string>()
    for (const c of cases) {
      const { variables, secretKeys } = renderOpenedxConfiguration(c)
      const masked = JSON.stringify(maskConfiguration(variables, secretKeys))
      for (const v of secretValues) if (masked.includes(v)) leaked.add(v.slice(0, 12))
    }
    expect([...leaked]).toEqual([])
  })
})
