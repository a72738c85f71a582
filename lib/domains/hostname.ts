import { isIP } from 'node:net'
import { domainToASCII } from 'node:url'

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/

/** The TXT record name a client publishes the ownership token at. */
export const verificationRecordName = (hostname: string) => `_tenon-challenge.${hostname}`

/**
 * A client's custom hostname, normalised (lower case, A-labels, no trailing dot), or the reason it cannot be one
 * (pure). Wildcards are refused (HTTP-01 cannot validate them), and so are names under the hosting zone: those are
 * the instances' own.
 */
export function normaliseCustomHostname(input: string, hostingZone: string): { hostname: string } | { error: string } {
  const trimmed = input.trim().replace(/\.$/, '')
  if (!trimmed) return { error: 'is required' }
  if (trimmed.includes('*')) return { error: 'must be a single hostname: wildcards are not supported for custom domains' }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed) || trimmed.includes('/')) return { error: 'must be a hostname, not a URL' }
  if (isIP(trimmed.replace(/^\[|\]$/g, ''))) return { error: 'must be a hostname, not an IP address' }
  const ascii = domainToASCII(trimmed.toLowerCase())
  if (!ascii) return { error: 'is not a valid hostname' }
  const labels = ascii.split('.')
  if (ascii.length > 253 || labels.length < 2 || !labels.every((l) => LABEL.test(l)) || /^\d+$/.test(labels.at(-1) ?? ''))
    return { error: 'is not a valid hostname (letters, digits and hyphens, at least two labels)' }
  const zone = hostingZone.toLowerCase()
  if (ascii === zone || ascii.endsWith(`.${zone}`))
    return { error: `is under the hosting zone ${zone}: those names belong to the instances` }
  return { hostname: ascii }
}

/** When the next DNS check of a pending domain is due: quickly at first (clients often add the record right away). */
export function verificationDelayMs(attempts: number): number {
  const steps = [0, 60_000, 2 * 60_000, 5 * 60_000, 10 * 60_000, 30 * 60_000]
  return steps[attempts] ?? 60 * 60_000
}
