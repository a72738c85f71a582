/**
 * What the console shows of a rendered configuration: secrets masked, and before a redeploy, what will change.
 * Paths are dotted ("FEATURES.ENABLE_DISCUSSION_SERVICE"), the same as a render's `secretKeys`; a key that itself
 * contains a dot cannot be told apart from nesting, which no Open edX setting needs. Lists are values: a list
 * that changed is one change, with both lists shown, since Open edX reads lists whole.
 */

export const MASK = '••••••'

export type ConfigurationChangeKind = 'added' | 'removed' | 'changed'

export interface ConfigurationChange {
  path: string
  kind: ConfigurationChangeKind
  /** Absent when added. A secret reads as MASK. */
  before?: unknown
  /** Absent when removed. A secret reads as MASK. */
  after?: unknown
}

type Mapping = Record<string, unknown>

const isMapping = (v: unknown): v is Mapping => !!v && typeof v === 'object' && !Array.isArray(v)

const join = (prefix: string, key: string) => (prefix ? `${prefix}.${key}` : key)

/** The same shape with every secret value replaced by MASK; a secret holding a mapping is masked whole. */
export function maskConfiguration(variables: Mapping, secretKeys: readonly string[]): Mapping {
  return maskMapping(variables, '', new Set(secretKeys))
}

function maskMapping(value: Mapping, prefix: string, secrets: ReadonlySet<string>): Mapping {
  const out: Mapping = {}
  for (const [k, v] of Object.entries(value)) {
    // defineProperty: a "__proto__" key (possible from YAML) stays a key instead of becoming the prototype.
    Object.defineProperty(out, k, { value: maskAt(v, join(prefix, k), secrets), enumerable: true, writable: true, configurable: true })
  }
  return out
}

function maskAt(value: unknown, path: string, secrets: ReadonlySet<string>): unknown {
  if (secrets.has(path)) return MASK
  return isMapping(value) ? maskMapping(value, path, secrets) : value
}

/**
 * The changes from `before` (null: nothing deployed yet, so everything is added) to `after`, sorted by path.
 * Mappings are walked key by key; a key present on one side only is one change carrying its whole (masked)
 * value. Pass the secret keys of both renders: a secret on either side is masked, and a changed secret reads
 * as changed with MASK on both sides, so the diff never shows or hints at a value.
 */
export function diffConfigurations(before: Mapping | null, after: Mapping, secretKeys: readonly string[]): ConfigurationChange[] {
  const changes: ConfigurationChange[] = []
  walk(before ?? {}, after, '', new Set(secretKeys), changes)
  return changes.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
}

function walk(before: Mapping, after: Mapping, prefix: string, secrets: ReadonlySet<string>, out: ConfigurationChange[]): void {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)])
  for (const key of keys) {
    const path = join(prefix, key)
    const b = Object.hasOwn(before, key) ? before[key] : undefined
    const a = Object.hasOwn(after, key) ? after[key] : undefined
    if (b === undefined && a === undefined) continue
    if (b === undefined) out.push({ path, kind: 'added', after: maskAt(a, path, secrets) })
    else if (a === undefined) out.push({ path, kind: 'removed', before: maskAt(b, path, secrets) })
    else if (!secrets.has(path) && isMapping(b) && isMapping(a)) walk(b, a, path, secrets, out)
    else if (!deepEqual(b, a)) out.push({ path, kind: 'changed', before: maskAt(b, path, secrets), after: maskAt(a, path, secrets) })
  }
}

/** Equality of JSON-like values; key order does not matter, list order does. */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((v, i) => deepEqual(v, b[i]))
  }
  if (!isMapping(a) || !isMapping(b)) return false
  const keys = Object.keys(a)
  return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]))
}
