/**
 * Field names whose values never reach the audit log (or an event). "tokens" (a plural, such as a count of
 * deleted API tokens) is not a secret; "token", "accessToken" or "tokenHash" are.
 */
const SECRET_KEY = /pass(word)?|secret|token(?!s$)|private|credential|api[-_]?key|^key$/i

export const REDACTED = '[redacted]'

export function redact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redact)
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, SECRET_KEY.test(k) ? REDACTED : redact(v)]))
  }
  return value
}

export type Diff = Record<string, { before?: unknown; after?: unknown }>

/**
 * Field-by-field difference of two records (nested objects are walked, so a changed setting shows as
 * "settings.release"), with secret fields redacted. Fields equal on both sides are left out.
 */
export function diffRecords(before: Record<string, unknown> | null, after: Record<string, unknown> | null, prefix = ''): Diff {
  const out: Diff = {}
  const keys = new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})])
  for (const key of keys) {
    const b = before?.[key]
    const a = after?.[key]
    const field = prefix + key
    if (isPlainObject(b) && isPlainObject(a)) {
      Object.assign(out, diffRecords(b, a, field + '.'))
      continue
    }
    if (JSON.stringify(normalise(b)) === JSON.stringify(normalise(a))) continue
    const secret = SECRET_KEY.test(key)
    const entry: { before?: unknown; after?: unknown } = {}
    if (b !== undefined) entry.before = secret ? REDACTED : redact(normalise(b))
    if (a !== undefined) entry.after = secret ? REDACTED : redact(normalise(a))
    out[field] = entry
  }
  return out
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date)
}

function normalise(v: unknown): unknown {
  return v instanceof Date ? v.toISOString() : v
}
