import { getDomain } from 'tldts'

/** The registered domain (public suffix + one label) a CA counts its per-domain limit against. */
export function registeredDomain(hostname: string): string {
  const name = hostname.replace(/^\*\./, '').toLowerCase()
  return getDomain(name, { allowPrivateDomains: true }) ?? name
}

export function registeredDomains(hostnames: readonly string[]): string[] {
  return [...new Set(hostnames.map(registeredDomain))].sort()
}
