/**
 * Instance and organization slugs are DNS labels (RFC 1123): a-z, 0-9 and "-", 1 to 63 characters, no
 * hyphen at either end. An instance's slug becomes its hostname under the hosting zone.
 */
export const SLUG_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/
export const SLUG_MAX = 63

/** Names the platform keeps for itself under the hosting zone. */
export const RESERVED_SLUGS = new Set([
  'www',
  'api',
  'admin',
  'console',
  'mail',
  'smtp',
  'ns1',
  'ns2',
  'lb',
  'status',
  'static',
  'assets',
  'studio',
  'preview',
])

export function slugify(name: string, max = SLUG_MAX): string {
  const base = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, max)
    .replace(/-+$/g, '')
  return base
}

/** Why a slug is not acceptable, or null when it is. */
export function slugProblem(slug: string): string | null {
  if (!slug) return 'is required'
  if (slug.length > SLUG_MAX) return `must be at most ${SLUG_MAX} characters`
  if (!SLUG_PATTERN.test(slug)) return 'may contain only a-z, 0-9 and "-", and may not start or end with "-"'
  if (RESERVED_SLUGS.has(slug)) return 'is reserved'
  return null
}

/** The first candidate of `base`, `base-2`, `base-3`, … that `taken` does not contain. */
export function firstFreeSlug(base: string, taken: ReadonlySet<string>): string {
  const root = base || 'instance'
  if (!taken.has(root) && !RESERVED_SLUGS.has(root)) return root
  for (let n = 2; ; n++) {
    const suffix = `-${n}`
    const candidate = root.slice(0, SLUG_MAX - suffix.length).replace(/-+$/, '') + suffix
    if (!taken.has(candidate)) return candidate
  }
}
