import { createHash, randomBytes } from 'node:crypto'

/** API tokens: "tnn_" + 256 random bits. Only the SHA-256 is stored; the prefix helps people tell them apart. */
export const TOKEN_PREFIX = 'tnn_'

export function generateToken(): { token: string; hash: string; prefix: string } {
  const token = TOKEN_PREFIX + randomBytes(32).toString('base64url')
  return { token, hash: hashToken(token), prefix: token.slice(0, TOKEN_PREFIX.length + 6) }
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex')
}
