import { describe, expect, it } from 'vitest'
import { checkExtraSettings, EXTRA_SETTINGS_MAX_BYTES } from '@/lib/instances/extra-settings'

describe('checkExtraSettings', () => {
  it.each([
    ['empty', ''],
    ['blank', '   \n\t\n'],
    ['only a comment', '# nothing here yet\n'],
    ['a flat mapping', 'FEATURES_X: true\nPLATFORM_TWITTER_URL: https://example.org\n'],
    ['a nested mapping with comments', '# keep\nEDXAPP_FEATURES:\n  ENABLE_X: true # inline\n  LIMIT: 3\nLIST:\n  - a\n  - b\n'],
    ['a flow mapping', '{a: 1, b: [1, 2]}'],
    ['an explicit document', '---\na: 1\n'],
  ])('accepts %s', (_label, text) => {
    expect(checkExtraSettings(text)).toEqual([])
  })

  it.each([
    ['a list', '- a\n- b\n'],
    ['a string', 'just some words'],
    ['a number', '42'],
    ['a boolean', 'true'],
  ])('rejects %s: it must be a mapping', (_label, text) => {
    expect(checkExtraSettings(text)).toEqual([{ field: 'extraSettings', message: 'must be a YAML mapping (key: value lines)' }])
  })

  it('names the line of invalid YAML', () => {
    const problems = checkExtraSettings('a: 1\nb: [unclosed\nc: 3\n')
    expect(problems.length).toBeGreaterThan(0)
    expect(problems[0]!.field).toBe('extraSettings')
    expect(problems[0]!.message).toMatch(/^invalid YAML: .*line \d+/)
    expect(problems.every((p) => !p.message.includes('\n'))).toBe(true)
  })

  it('names the line of bad indentation', () => {
    const [problem] = checkExtraSettings('a:\n  b: 1\n c: 2\n')
    expect(problem?.message).toMatch(/^invalid YAML: .*line 3/)
  })

  it('rejects duplicate keys, naming the line', () => {
    const problems = checkExtraSettings('a: 1\nb: 2\na: 3\n')
    expect(problems).toHaveLength(1)
    expect(problems[0]!.message).toMatch(/^invalid YAML: .*unique.*line 3/i)
  })

  it('rejects duplicate keys in nested mappings', () => {
    expect(checkExtraSettings('outer:\n  x: 1\n  x: 2\n')).toHaveLength(1)
  })

  it('uses the field name it is given', () => {
    expect(checkExtraSettings('- a', 'settings.extra')[0]!.field).toBe('settings.extra')
  })

  describe('size limit', () => {
    const key = 'k: '
    it('accepts exactly 64 KiB', () => {
      const text = key + 'x'.repeat(EXTRA_SETTINGS_MAX_BYTES - key.length)
      expect(Buffer.byteLength(text)).toBe(64 * 1024)
      expect(checkExtraSettings(text)).toEqual([])
    })

    it('rejects one byte more', () => {
      const text = key + 'x'.repeat(EXTRA_SETTINGS_MAX_BYTES - key.length + 1)
      expect(checkExtraSettings(text)).toEqual([{ field: 'extraSettings', message: 'must be at most 64 KiB' }])
    })

    it('counts bytes, not characters', () => {
      const text = key + 'é'.repeat((EXTRA_SETTINGS_MAX_BYTES - key.length) / 2 + 1)
      expect(text.length).toBeLessThan(EXTRA_SETTINGS_MAX_BYTES)
      expect(checkExtraSettings(text)).toEqual([{ field: 'extraSettings', message: 'must be at most 64 KiB' }])
    })
  })
})
