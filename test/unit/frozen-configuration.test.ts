import { describe, expect, it } from 'vitest'
import { joinSecrets, splitSecrets } from '@/lib/deployments/frozen-configuration'

const VARIABLES = {
  PLATFORM_NAME: 'Redwood Academy',
  OPENEDX_SECRET_KEY: 'top-level-secret',
  PLUGINS: ['forum', 'mfe'],
  FEATURES: { ENABLE_DISCUSSION_SERVICE: true },
  SMTP: { HOST: 'smtp.example.test', PASSWORD: 'smtp-secret', PORT: 587 },
  SOCIAL: { GOOGLE: { KEY: 'public-client-id', SECRET: 'deep-secret' }, ENABLED: true },
  ONLY_SECRET: { TOKEN: 'lonely-secret' },
  EMPTY_SECRET: '',
  NULL_SECRET: null,
  WHOLE: { A: 1, B: { C: 'a secret mapping, moved whole' } },
}

const SECRET_KEYS = [
  'OPENEDX_SECRET_KEY',
  'SMTP.PASSWORD',
  'SOCIAL.GOOGLE.SECRET',
  'ONLY_SECRET.TOKEN',
  'EMPTY_SECRET',
  'NULL_SECRET',
  'WHOLE',
]

describe('splitSecrets', () => {
  it('takes the secret values out, at any depth, keyed by their dotted path', () => {
    const { plain, secrets } = splitSecrets(VARIABLES, SECRET_KEYS)
    expect(secrets).toEqual({
      OPENEDX_SECRET_KEY: 'top-level-secret',
      'SMTP.PASSWORD': 'smtp-secret',
      'SOCIAL.GOOGLE.SECRET': 'deep-secret',
      'ONLY_SECRET.TOKEN': 'lonely-secret',
      EMPTY_SECRET: '',
      NULL_SECRET: null,
      WHOLE: { A: 1, B: { C: 'a secret mapping, moved whole' } },
    })
    expect(plain).toEqual({
      PLATFORM_NAME: 'Redwood Academy',
      PLUGINS: ['forum', 'mfe'],
      FEATURES: { ENABLE_DISCUSSION_SERVICE: true },
      SMTP: { HOST: 'smtp.example.test', PORT: 587 },
      SOCIAL: { GOOGLE: { KEY: 'public-client-id' }, ENABLED: true },
      ONLY_SECRET: {},
      // empty and null secrets are secrets too: their keys go
    })
  })

  it('leaves no secret value anywhere in the plain part', () => {
    const { plain } = splitSecrets(VARIABLES, SECRET_KEYS)
    const text = JSON.stringify(plain)
    for (const value of ['top-level-secret', 'smtp-secret', 'deep-secret', 'lonely-secret', 'moved whole'])
      expect(text).not.toContain(value)
  })

  it('does not change its input', () => {
    const input = structuredClone(VARIABLES)
    splitSecrets(input, SECRET_KEYS)
    expect(input).toEqual(VARIABLES)
  })

  it('ignores secret keys that are not there (absent leaf, absent parent, parent not a mapping)', () => {
    const { plain, secrets } = splitSecrets(VARIABLES, ['MISSING', 'SMTP.USER', 'NOPE.PASSWORD', 'PLATFORM_NAME.X', 'PLUGINS.0'])
    expect(secrets).toEqual({})
    expect(plain).toEqual(VARIABLES)
  })

  it('no secret keys: everything is plain', () => {
    expect(splitSecrets(VARIABLES, [])).toEqual({ plain: VARIABLES, secrets: {} })
  })
})

describe('joinSecrets', () => {
  it('round trip: join(split(v)) is v', () => {
    const { plain, secrets } = splitSecrets(VARIABLES, SECRET_KEYS)
    expect(joinSecrets(plain, secrets)).toEqual(VARIABLES)
  })

  it('round trip survives JSON (how both parts are stored)', () => {
    const { plain, secrets } = splitSecrets(VARIABLES, SECRET_KEYS)
    const stored = { plain: JSON.parse(JSON.stringify(plain)), secrets: JSON.parse(JSON.stringify(secrets)) }
    expect(joinSecrets(stored.plain, stored.secrets)).toEqual(VARIABLES)
  })

  it('puts a secret back under parents that were emptied or are missing', () => {
    expect(joinSecrets({}, { 'A.B.C': 'x', TOP: 'y' })).toEqual({ A: { B: { C: 'x' } }, TOP: 'y' })
    expect(joinSecrets({ A: {} }, { 'A.B': 'x' })).toEqual({ A: { B: 'x' } })
    expect(joinSecrets({ A: { KEEP: 1 } }, { 'A.B': 'x' })).toEqual({ A: { KEEP: 1, B: 'x' } })
  })

  it('a secret replaces a plain value at its path', () => {
    expect(joinSecrets({ A: 'plain' }, { A: 'secret' })).toEqual({ A: 'secret' })
  })

  it('does not change its inputs', () => {
    const plain = { SMTP: { HOST: 'h' } }
    const secrets = { 'SMTP.PASSWORD': 'p' }
    joinSecrets(plain, secrets)
    expect(plain).toEqual({ SMTP: { HOST: 'h' } })
    expect(secrets).toEqual({ 'SMTP.PASSWORD': 'p' })
  })

  it('nothing secret: a copy of the plain part', () => {
    const plain = { A: { B: [1, 2] } }
    const joined = joinSecrets(plain, {})
    expect(joined).toEqual(plain)
    expect(joined).not.toBe(plain)
  })
})
