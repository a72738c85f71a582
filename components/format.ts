/** Dates in the console: UTC, sortable, unambiguous for an operations team spread over time zones. */
export function formatDateTime(iso: string | Date | null | undefined): string {
  if (!iso) return '—'
  const d = typeof iso === 'string' ? new Date(iso) : iso
  return d.toISOString().slice(0, 16).replace('T', ' ') + ' UTC'
}

export function formatDate(iso: string | Date | null | undefined): string {
  if (!iso) return '—'
  const d = typeof iso === 'string' ? new Date(iso) : iso
  return d.toISOString().slice(0, 10)
}

/** A short, readable form of any JSON value, for audit diffs and settings. */
export function formatValue(value: unknown): string {
  if (value === undefined) return '∅'
  if (value === null) return 'null'
  if (typeof value === 'string') return value === '' ? '""' : value
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  return JSON.stringify(value)
}

/** Flattens nested objects to dotted keys (settings.features.enableCertificates), for compact diffs. */
export function flatten(value: unknown, prefix = ''): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return { [prefix || 'value']: value }
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) {
    const key = prefix ? `${prefix}.${k}` : k
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 0) Object.assign(out, flatten(v, key))
    else out[key] = v
  }
  return out
}

/** Only an app-relative path is a safe place to go after signing in. */
export function safeNextPath(next: string | undefined | null, fallback = '/instances'): string {
  return next && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/\\') ? next : fallback
}
