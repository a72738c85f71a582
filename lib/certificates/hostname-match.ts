import { domainToASCII } from 'node:url'

/**
 * Whether a name presented by a certificate (a dNSName, or the CN of a certificate without any subjectAltName)
 * covers `hostname`, by RFC 6125 §6.4: case-insensitive, A-labels compared as written (never decoded), and
 * wildcards only as §6.4.3 allows them and browsers apply them:
 * - `*` is the whole left-most label (`w*.example.com`, `*w.example.com` and `www.*.example.com` match nothing);
 * - it stands for exactly one non-empty label (`*.example.com` covers neither `example.com` nor `a.b.example.com`);
 * - at least two labels follow it, so `*.com` covers nothing. Registry suffixes such as `*.co.uk` would need the
 *   public suffix list, which we do not carry: CAs refuse to issue those anyway.
 */
export function nameCovers(presented: string, hostname: string): boolean {
  const pattern = normalise(presented)
  const host = normalise(toAscii(hostname))
  if (!pattern || !host || !validLabels(host.split('.'))) return false
  const patternLabels = pattern.split('.')
  if (!validLabels(patternLabels)) return false
  if (!pattern.includes('*')) return pattern === host
  const [first, ...parent] = patternLabels
  if (first !== '*' || parent.some((label) => label.includes('*')) || parent.length < 2) return false
  // A wildcard host name (a client's wildcard custom domain) is covered by the same wildcard only.
  if (host === pattern) return true
  const [hostFirst, ...hostParent] = host.split('.')
  return hostFirst !== undefined && !hostFirst.includes('*') && hostParent.join('.') === parent.join('.')
}

/** Whether any of `names` covers `hostname`. */
export function namesCover(names: readonly string[], hostname: string): boolean {
  return names.some((name) => nameCovers(name, hostname))
}

/** Lower case, one trailing dot dropped (an absolute name). */
function normalise(name: string): string {
  return name.trim().replace(/\.$/, '').toLowerCase()
}

/**
 * Certificates hold A-labels (`xn--…`), so a host name typed with U-labels is converted before comparing; a name
 * presented by a certificate is never converted (a raw UTF-8 dNSName is not a valid one).
 */
function toAscii(hostname: string): string {
  return /[^\x00-\x7f]/.test(hostname) ? domainToASCII(hostname.trim()) : hostname
}

function validLabels(labels: string[]): boolean {
  return labels.every((label) => label.length > 0 && label.length <= 63)
}
