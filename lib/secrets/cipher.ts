import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'

/**
 * Secrets at rest: AES-256-GCM with a key id in every ciphertext, so the master key can be rotated
 * (new writes use the first key; every listed key still decrypts). Format:
 *   v1.<keyId>.<iv base64url>.<tag base64url>.<ciphertext base64url>
 * The key id and version are bound to the ciphertext as additional authenticated data, so a value cannot
 * be moved under another key id unnoticed.
 */
export interface SecretKey {
  id: string
  key: Buffer
}

export interface SecretBox {
  encrypt(plaintext: string): string
  decrypt(ciphertext: string): string
  /** id of the key new ciphertexts are written with */
  readonly currentKeyId: string
  /** the key id a ciphertext was written with */
  keyIdOf(ciphertext: string): string
}

const VERSION = 'v1'
const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/

export class SecretKeyError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'SecretKeyError'
  }
}

/** Parses "id:base64key,id2:base64key2" (each key 32 bytes, base64 or base64url). */
export function parseSecretKeys(spec: string): SecretKey[] {
  const keys = spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry) => {
      const sep = entry.indexOf(':')
      if (sep < 1) throw new SecretKeyError(`"${entry.slice(0, 8)}…" is not id:base64key`)
      const id = entry.slice(0, sep)
      if (!KEY_ID.test(id)) throw new SecretKeyError(`key id "${id}" must be 1-32 letters, digits, _ or -`)
      const key = Buffer.from(entry.slice(sep + 1), 'base64')
      if (key.length !== 32) throw new SecretKeyError(`key "${id}" must be 32 bytes (base64), got ${key.length}`)
      return { id, key }
    })
  if (!keys.length) throw new SecretKeyError('at least one key is required')
  if (new Set(keys.map((k) => k.id)).size !== keys.length) throw new SecretKeyError('key ids must be unique')
  return keys
}

export function createSecretBox(keys: SecretKey[]): SecretBox {
  const [current] = keys
  if (!current) throw new SecretKeyError('at least one key is required')
  const byId = new Map(keys.map((k) => [k.id, k.key]))
  const aad = (keyId: string) => Buffer.from(`${VERSION}.${keyId}`)

  function split(ciphertext: string) {
    const parts = ciphertext.split('.')
    if (parts.length !== 5 || parts[0] !== VERSION) throw new SecretKeyError('not a Tenon ciphertext')
    const [, keyId, iv, tag, data] = parts as [string, string, string, string, string]
    return { keyId, iv, tag, data }
  }

  return {
    currentKeyId: current.id,
    encrypt(plaintext) {
      const iv = randomBytes(12)
      const cipher = createCipheriv('aes-256-gcm', current.key, iv)
      cipher.setAAD(aad(current.id))
      const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
      return [VERSION, current.id, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), data.toString('base64url')].join(
        '.',
      )
    },
    decrypt(ciphertext) {
      const { keyId, iv, tag, data } = split(ciphertext)
      const key = byId.get(keyId)
      if (!key) throw new SecretKeyError(`no key "${keyId}" is configured (SECRETS_KEYS) to decrypt this value`)
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'))
      decipher.setAAD(aad(keyId))
      decipher.setAuthTag(Buffer.from(tag, 'base64url'))
      return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString('utf8')
    },
    keyIdOf: (ciphertext) => split(ciphertext).keyId,
  }
}

/** A new random key spec entry, for generated local setups and `admin` key rotation. */
export function newSecretKeySpec(id: string): string {
  return `${id}:${randomBytes(32).toString('base64')}`
}

/** Encrypts a JSON-serializable value. */
export const sealJson = (box: SecretBox, value: unknown) => box.encrypt(JSON.stringify(value))
export const openJson = <T>(box: SecretBox, ciphertext: string): T => JSON.parse(box.decrypt(ciphertext)) as T
