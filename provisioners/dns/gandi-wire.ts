/**
 * Pure parts of the Gandi LiveDNS adapter: how record names and TXT values look on the wire, and how to read the
 * Retry-After and Link headers. No I/O here, so they are tested exhaustively in test/unit/gandi-wire.test.ts.
 */

/** A DNS character-string holds at most 255 bytes; longer TXT values are sent as several strings. */
const MAX_CHARACTER_STRING_BYTES = 255

/**
 * A record name relative to the zone: "@" (the apex), or dot-separated labels of letters, digits, "-" and "_"
 * ("_acme-challenge.acme"), the first of which may be "*" (a wildcard). Lower case: the adapter lower-cases first.
 */
export const RECORD_NAME_PATTERN = /^(?:@|(?:\*|[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*)$/

/** The name as the adapter sends it: lower case, "" meaning the apex. Does not validate (see RECORD_NAME_PATTERN). */
export function normalizeRecordName(name: string): string {
  const lower = name.trim().toLowerCase()
  return lower === '' ? '@' : lower
}

/** A zone as configured ("Hosting.Example.NET.") in the form the API takes in its paths ("hosting.example.net"). */
export function normalizeZone(zone: string): string {
  return zone.trim().toLowerCase().replace(/\.$/, '')
}

/** One path segment: percent-encoded except "@" and "*", which the API's own examples put in paths as they are. */
export function pathSegment(value: string): string {
  return encodeURIComponent(value).replaceAll('%40', '@')
}

function quoteOne(text: string): string {
  return `"${text.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`
}

/** Splits text into pieces of at most `max` UTF-8 bytes without cutting a character in two. */
function splitUtf8(text: string, max: number): string[] {
  const pieces: string[] = []
  let current = ''
  let currentBytes = 0
  for (const char of text) {
    const bytes = Buffer.byteLength(char, 'utf8')
    if (currentBytes + bytes > max) {
      pieces.push(current)
      current = ''
      currentBytes = 0
    }
    current += char
    currentBytes += bytes
  }
  pieces.push(current)
  return pieces
}

/**
 * A TXT value in zone-file presentation, as LiveDNS stores and answers it: `abc` → `"abc"`, with `"` and `\`
 * escaped; a value longer than 255 bytes becomes several quoted strings (`"…" "…"`), which resolvers join again.
 */
export function quoteTxt(value: string): string {
  return splitUtf8(value, MAX_CHARACTER_STRING_BYTES).map(quoteOne).join(' ')
}

const QUOTED_STRINGS = /^\s*"(?:[^"\\]|\\.)*"(?:\s+"(?:[^"\\]|\\.)*")*\s*$/s
const ONE_QUOTED_STRING = /"((?:[^"\\]|\\.)*)"/gs

/**
 * The text of a TXT value as LiveDNS answers it: the quoted strings unescaped and joined (`"ab" "c"` → `abc`).
 * A value that is not in quotes (written by some other tool) is returned as it is.
 */
export function unquoteTxt(wire: string): string {
  if (!QUOTED_STRINGS.test(wire)) return wire
  let text = ''
  for (const match of wire.matchAll(ONE_QUOTED_STRING)) text += (match[1] ?? '').replace(/\\(.)/gs, '$1')
  return text
}

/**
 * Milliseconds to wait from an HTTP Retry-After header: delay-seconds ("120") or an HTTP date (RFC 9110 §10.2.3).
 * A date in the past means 0; anything unreadable means the server gave no usable hint (undefined).
 */
export function retryAfterMs(header: string | null | undefined, now: number = Date.now()): number | undefined {
  if (header === null || header === undefined) return undefined
  const value = header.trim()
  if (/^\d+$/.test(value)) return Number(value) * 1000
  // Only real HTTP dates: Date.parse would also take "5" or "2026" as a date.
  if (!/^[A-Za-z]{3},? /.test(value)) return undefined
  const at = Date.parse(value)
  if (Number.isNaN(at)) return undefined
  return Math.max(0, at - now)
}

/** The target of the `rel="next"` link of an RFC 8288 Link header, resolved against `base`, or undefined. */
export function nextLink(header: string | null | undefined, base: string): string | undefined {
  if (!header) return undefined
  // Link: <url>; rel="next", <url>; rel="last"  (a URL may itself contain commas, so match <...> first)
  for (const match of header.matchAll(/<([^>]*)>((?:\s*;\s*[^;,]+)*)/g)) {
    const [, target = '', params = ''] = match
    const rel = /;\s*rel\s*=\s*(?:"([^"]*)"|([^\s;,]+))/i.exec(params)
    const relations = (rel?.[1] ?? rel?.[2] ?? '').toLowerCase().split(/\s+/)
    if (!relations.includes('next')) continue
    try {
      return new URL(target, base).toString()
    } catch {
      return undefined
    }
  }
  return undefined
}
