import { describe, expect, it } from 'vitest'
import { generateToken, hashToken, TOKEN_PREFIX } from '@/lib/tokens/token-secret'

describe('API token secrets', () => {
  it('generates "tnn_" + 256 random bits in base64url', () => {
    const { token } = generateToken()
    expect(TOKEN_PREFIX).toBe('tnn_')
    expect(token).toMatch(/^tnn_[A-Za-z0-9_-]{43}$/)
    expect(Buffer.from(token.slice(4), 'base64url')).toHaveLength(32)
  })

  it('returns the SHA-256 of the token and a short prefix', () => {
    const { token, hash, prefix } = generateToken()
    expect(hash).toBe(hashToken(token))
    expect(hash).toMatch(/^[0-9a-f]{64}$/)
    expect(prefix).toBe(token.slice(0, 10))
    expect(token.startsWith(prefix)).toBe(true)
    expect(hash).not.toContain(token.slice(4))
  })

  it('never repeats a token', () => {
    const tokens = new Set(Array.from({ length: 200 }, () => generateToken().token))
    expect(tokens.size).toBe(200)
  })

  it('hashes with SHA-256 (hex)', () => {
    expect(hashToken('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
    expect(hashToken('tnn_x')).toBe(hashToken('tnn_x'))
    expect(hashToken('tnn_x')).not.toBe(hashToken('tnn_y'))
  })
})
