import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { createSecretBox, newSecretKeySpec, openJson, parseSecretKeys, sealJson, SecretKeyError } from '@/lib/secrets/cipher'

const key32 = (fill: number) => Buffer.alloc(32, fill)
const OLD = { id: 'k2025', key: key32(1) }
const NEW = { id: 'k2026', key: key32(2) }

/** Replaces the character at `i` with a different one of the base64url alphabet. */
function flip(text: string, i: number): string {
  const c = text[i]
  return text.slice(0, i) + (c === 'A' ? 'B' : 'A') + text.slice(i + 1)
}

describe('SecretBox', () => {
  it('round trip, for empty, unicode and long values', () => {
    const box = createSecretBox([NEW])
    for (const value of ['', 'p@ss w0rd', 'héllo — 日本語 🚀', 'x'.repeat(100_000), '-----BEGIN RSA PRIVATE KEY-----\nMII…\n']) {
      expect(box.decrypt(box.encrypt(value))).toBe(value)
    }
  })

  it('writes v1.<keyId>.<iv>.<tag>.<data>, never the plaintext, and a fresh IV every time', () => {
    const box = createSecretBox([NEW])
    const a = box.encrypt('the same plaintext')
    const b = box.encrypt('the same plaintext')
    expect(a).not.toBe(b)
    expect(a).toMatch(/^v1\.k2026\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]+$/)
    expect(a).not.toContain('plaintext')
    expect(Buffer.from(a.split('.')[4]!, 'base64url').toString('utf8')).not.toContain('plaintext')
    expect(box.currentKeyId).toBe('k2026')
    expect(box.keyIdOf(a)).toBe('k2026')
  })

  it('key rotation: new values use the first key, values written with an older listed key still decrypt', () => {
    const before = createSecretBox([OLD])
    const written = before.encrypt('written before the rotation')
    const after = createSecretBox([NEW, OLD])
    expect(after.currentKeyId).toBe('k2026')
    expect(after.keyIdOf(written)).toBe('k2025')
    expect(after.decrypt(written)).toBe('written before the rotation')
    const rewritten = after.encrypt(after.decrypt(written))
    expect(after.keyIdOf(rewritten)).toBe('k2026')
    // once the old key is dropped, only re-encrypted values open
    const dropped = createSecretBox([NEW])
    expect(dropped.decrypt(rewritten)).toBe('written before the rotation')
    expect(() => dropped.decrypt(written)).toThrow(SecretKeyError)
  })

  it('a value written under a key id that is not configured is refused, naming the key id and SECRETS_KEYS', () => {
    const written = createSecretBox([OLD]).encrypt('x')
    expect(() => createSecretBox([NEW]).decrypt(written)).toThrow('no key "k2025" is configured (SECRETS_KEYS) to decrypt this value')
  })

  it('the right key id with the wrong key bytes fails authentication', () => {
    const written = createSecretBox([OLD]).encrypt('x')
    expect(() => createSecretBox([{ id: OLD.id, key: key32(9) }]).decrypt(written)).toThrow(/unable to authenticate|auth/i)
  })

  it('detects tampering with the ciphertext, the IV or the tag', () => {
    const box = createSecretBox([NEW])
    const sealed = box.encrypt('a secret long enough to tamper with')
    const parts = sealed.split('.')
    const changed = (i: number, change: (part: string) => string) => parts.map((p, j) => (j === i ? change(p) : p)).join('.')
    // parts: 0 version, 1 key id, 2 IV, 3 tag, 4 ciphertext
    for (const tampered of [
      changed(4, (d) => flip(d, 3)),
      changed(2, (iv) => flip(iv, 0)),
      changed(3, (tag) => flip(tag, 5)),
      changed(4, (d) => d.slice(0, -2)),
    ]) {
      expect(() => box.decrypt(tampered)).toThrow()
    }
  })

  it('the key id is authenticated: a value moved under another configured key id does not decrypt', () => {
    // same key bytes under two ids: only the AAD (version and key id) tells them apart
    const box = createSecretBox([
      { id: 'a', key: key32(5) },
      { id: 'b', key: key32(5) },
    ])
    const sealed = box.encrypt('bound to key a')
    expect(box.decrypt(sealed)).toBe('bound to key a')
    const moved = sealed.replace(/^v1\.a\./, 'v1.b.')
    expect(box.keyIdOf(moved)).toBe('b')
    expect(() => box.decrypt(moved)).toThrow()
  })

  it('refuses what is not a Tenon ciphertext', () => {
    const box = createSecretBox([NEW])
    for (const text of ['', 'plaintext', 'v2.k2026.a.b.c', 'v1.k2026.a.b', 'v1.k2026.a.b.c.d']) {
      expect(() => box.decrypt(text)).toThrow('not a Tenon ciphertext')
      expect(() => box.keyIdOf(text)).toThrow(SecretKeyError)
    }
  })

  it('needs at least one key', () => {
    expect(() => createSecretBox([])).toThrow(SecretKeyError)
  })

  it('sealJson / openJson round trip a JSON value', () => {
    const box = createSecretBox([NEW])
    // Long enough that random base64url ciphertext cannot contain it by chance (a two-letter value did, 1 run in 40).
    const value = { MYSQL_PASSWORD: 'plaintext-password-value', nested: { list: [1, 'two', null] } }
    const sealed = sealJson(box, value)
    expect(sealed).not.toContain('plaintext-password-value')
    expect(openJson(box, sealed)).toEqual(value)
  })
})

describe('parseSecretKeys', () => {
  const b64 = (fill: number) => key32(fill).toString('base64')

  it('parses id:base64 pairs, first one first, with spaces and empty entries tolerated', () => {
    const keys = parseSecretKeys(` new:${b64(2)} , old:${b64(1)},`)
    expect(keys.map((k) => k.id)).toEqual(['new', 'old'])
    expect(keys[0]!.key.equals(key32(2))).toBe(true)
    expect(keys[1]!.key.equals(key32(1))).toBe(true)
  })

  it('accepts base64url keys too', () => {
    const raw = Buffer.from(Array.from({ length: 32 }, (_, i) => 250 - i))
    const [k] = parseSecretKeys(`url:${raw.toString('base64url')}`)
    expect(k!.key.equals(raw)).toBe(true)
  })

  it('newSecretKeySpec makes an entry parseSecretKeys accepts, with a random 32-byte key', () => {
    const a = parseSecretKeys(newSecretKeySpec('gen1'))[0]!
    const b = parseSecretKeys(newSecretKeySpec('gen1'))[0]!
    expect(a.id).toBe('gen1')
    expect(a.key).toHaveLength(32)
    expect(a.key.equals(b.key)).toBe(false)
  })

  it.each([
    ['', 'at least one key is required'],
    [' , ', 'at least one key is required'],
    [`${b64(1)}`, 'is not id:base64key'],
    [`:${b64(1)}`, 'is not id:base64key'],
    [`bad id:${b64(1)}`, 'key id "bad id" must be 1-32 letters, digits, _ or -'],
    [`${'x'.repeat(33)}:${b64(1)}`, 'must be 1-32 letters'],
    [`short:${randomBytes(16).toString('base64')}`, 'key "short" must be 32 bytes (base64), got 16'],
    [`long:${randomBytes(33).toString('base64')}`, 'got 33'],
    [`same:${b64(1)},same:${b64(2)}`, 'key ids must be unique'],
  ])('%j is refused: %s', (spec, message) => {
    expect(() => parseSecretKeys(spec)).toThrow(SecretKeyError)
    expect(() => parseSecretKeys(spec)).toThrow(message)
  })

  it('an error about a malformed entry does not echo the key material', () => {
    const secret = b64(3)
    let message = ''
    try {
      parseSecretKeys(secret)
    } catch (err) {
      message = err instanceof Error ? err.message : ''
    }
    expect(message).toMatch(/is not id:base64key/)
    expect(message).not.toContain(secret.slice(8))
  })
})
