import { describe, expect, it } from 'vitest'
import { ConfigError, parseConfig, requireDatabaseUrl, ZConfigEnv } from '@/lib/config'

function configError(env: Record<string, string | undefined>): ConfigError {
  try {
    parseConfig(env)
  } catch (err) {
    if (err instanceof ConfigError) return err
    throw err
  }
  throw new Error(`parseConfig accepted ${JSON.stringify(env)}`)
}

describe('parseConfig', () => {
  it('fills every default from an empty environment', () => {
    expect(parseConfig({})).toEqual({
      nodeEnv: 'production',
      port: 3000,
      host: '0.0.0.0',
      publicUrl: 'http://localhost:3000',
      databaseUrl: undefined,
      dataDir: '.data',
      embeddedPgPort: 54329,
      authSecret: undefined,
      trustProxy: false,
      signIn: { maxAttempts: 5, windowSeconds: 60 },
      sessionTtlHours: 168,
      invitationTtlHours: 168,
      revokedTokenRetentionDays: 30,
      smtpUrl: undefined,
      mailFrom: 'Tenon <no-reply@localhost>',
      hostingZone: 'instances.localhost',
      runWorker: true,
      workerConcurrency: 4,
      logLevel: 'info',
    })
  })

  it('reads every variable when set', () => {
    const config = parseConfig({
      NODE_ENV: 'development',
      PORT: '8080',
      HOST: '127.0.0.1',
      PUBLIC_URL: 'https://console.example.org/',
      DATABASE_URL: 'postgresql://u:p@db:5432/tenon',
      DATA_DIR: '/var/lib/tenon',
      EMBEDDED_PG_PORT: '6000',
      AUTH_SECRET: 'x'.repeat(32),
      TRUST_PROXY: 'true',
      SIGN_IN_MAX_ATTEMPTS: '10',
      SIGN_IN_WINDOW_SECONDS: '300',
      SESSION_TTL_HOURS: '12',
      INVITATION_TTL_HOURS: '48',
      REVOKED_TOKEN_RETENTION_DAYS: '0',
      SMTP_URL: 'smtps://user:pass@mail.example.org:465',
      MAIL_FROM: 'Ops <ops@example.org>',
      HOSTING_ZONE: 'sites.example.org',
      RUN_WORKER: 'false',
      WORKER_CONCURRENCY: '16',
      LOG_LEVEL: 'debug',
    })
    expect(config).toEqual({
      nodeEnv: 'development',
      port: 8080,
      host: '127.0.0.1',
      publicUrl: 'https://console.example.org',
      databaseUrl: 'postgresql://u:p@db:5432/tenon',
      dataDir: '/var/lib/tenon',
      embeddedPgPort: 6000,
      authSecret: 'x'.repeat(32),
      trustProxy: true,
      signIn: { maxAttempts: 10, windowSeconds: 300 },
      sessionTtlHours: 12,
      invitationTtlHours: 48,
      revokedTokenRetentionDays: 0,
      smtpUrl: 'smtps://user:pass@mail.example.org:465',
      mailFrom: 'Ops <ops@example.org>',
      hostingZone: 'sites.example.org',
      runWorker: false,
      workerConcurrency: 16,
      logLevel: 'debug',
    })
  })

  it('derives PUBLIC_URL from PORT and strips trailing slashes', () => {
    expect(parseConfig({ PORT: '4000' }).publicUrl).toBe('http://localhost:4000')
    expect(parseConfig({ PUBLIC_URL: 'http://console.test///' }).publicUrl).toBe('http://console.test')
  })

  it('accepts postgres:// as well as postgresql:// URLs', () => {
    expect(parseConfig({ DATABASE_URL: 'postgres://h/db' }).databaseUrl).toBe('postgres://h/db')
  })

  it('counts empty strings as unset', () => {
    const empty = Object.fromEntries(Object.keys(ZConfigEnv.shape).map((k) => [k, '']))
    expect(parseConfig(empty)).toEqual(parseConfig({}))
    expect(parseConfig({ PORT: '', TRUST_PROXY: '', RUN_WORKER: '', DATABASE_URL: '', AUTH_SECRET: '' })).toMatchObject({
      port: 3000,
      trustProxy: false,
      runWorker: true,
      databaseUrl: undefined,
      authSecret: undefined,
    })
  })

  it('ignores variables it does not know', () => {
    expect(parseConfig({ PATH: '/usr/bin', HOME: '/root' })).toEqual(parseConfig({}))
  })

  describe.each([
    ['TRUST_PROXY', 'trustProxy'],
    ['RUN_WORKER', 'runWorker'],
  ] as const)('boolean %s', (variable, key) => {
    it.each([
      ['true', true],
      ['1', true],
      ['yes', true],
      ['false', false],
      ['0', false],
      ['no', false],
    ])('%s → %s', (value, expected) => {
      expect(parseConfig({ [variable]: value })[key]).toBe(expected)
    })

    it.each(['maybe', 'on', '2', 'y'])('rejects %s naming the variable', (value) => {
      expect(configError({ [variable]: value }).issues.map((i) => i.variable)).toEqual([variable])
    })
  })

  it.each([
    ['NODE_ENV', 'staging'],
    ['PORT', 'abc'],
    ['PORT', '0'],
    ['PORT', '65536'],
    ['PORT', '80.5'],
    ['PUBLIC_URL', 'not a url'],
    ['DATABASE_URL', 'mysql://localhost/tenon'],
    ['DATABASE_URL', 'localhost:5432'],
    ['EMBEDDED_PG_PORT', '70000'],
    ['AUTH_SECRET', 'too-short'],
    ['SIGN_IN_MAX_ATTEMPTS', '0'],
    ['SIGN_IN_MAX_ATTEMPTS', 'many'],
    ['SIGN_IN_WINDOW_SECONDS', '-5'],
    ['SESSION_TTL_HOURS', '0'],
    ['INVITATION_TTL_HOURS', '1.5'],
    ['REVOKED_TOKEN_RETENTION_DAYS', '-1'],
    ['SMTP_URL', 'http://mail.example.org'],
    ['MAIL_FROM', 'a'],
    ['HOSTING_ZONE', 'Upper.Example.org'],
    ['HOSTING_ZONE', '-bad.example.org'],
    ['HOSTING_ZONE', 'bad-.example.org'],
    ['HOSTING_ZONE', 'under_score.example.org'],
    ['WORKER_CONCURRENCY', '0'],
    ['WORKER_CONCURRENCY', '101'],
    ['LOG_LEVEL', 'verbose'],
  ])('rejects %s=%s, naming the variable', (variable, value) => {
    const err = configError({ [variable]: value })
    expect(err.issues).toHaveLength(1)
    expect(err.issues[0]!.variable).toBe(variable)
    expect(err.issues[0]!.message).not.toBe('')
    expect(err.message).toContain(variable)
  })

  it('reports every bad variable at once', () => {
    const err = configError({ PORT: 'x', LOG_LEVEL: 'loud', SMTP_URL: 'ftp://x', HOST: 'ok' })
    expect(err.issues.map((i) => i.variable).sort()).toEqual(['LOG_LEVEL', 'PORT', 'SMTP_URL'])
    expect(err.name).toBe('ConfigError')
  })

  it('explains the rule that was broken', () => {
    expect(configError({ AUTH_SECRET: 'short' }).issues[0]!.message).toBe('must be at least 32 characters')
    expect(configError({ DATABASE_URL: 'mysql://x' }).issues[0]!.message).toBe('must be a postgres:// or postgresql:// URL')
    expect(configError({ HOSTING_ZONE: 'A.B' }).issues[0]!.message).toBe('must be a lowercase DNS name')
  })
})

describe('requireDatabaseUrl', () => {
  it('returns the URL when set', () => {
    expect(requireDatabaseUrl(parseConfig({ DATABASE_URL: 'postgresql://h/d' }))).toBe('postgresql://h/d')
  })

  it('throws a ConfigError naming DATABASE_URL when unset', () => {
    let caught: unknown
    try {
      requireDatabaseUrl(parseConfig({}))
    } catch (err) {
      caught = err
    }
    expect(caught).toBeInstanceOf(ConfigError)
    expect((caught as ConfigError).issues.map((i) => i.variable)).toEqual(['DATABASE_URL'])
  })
})
