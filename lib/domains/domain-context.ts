import { readFileSync } from 'node:fs'
import type { Orchestrator } from '@/lib/deployments/orchestrator'
import { createSecretBox, parseSecretKeys, type SecretBox } from '@/lib/secrets'
import { createAcmeCa } from '@/provisioners/acme'
import { createGandiDns } from '@/provisioners/dns/gandi'
import type { AcmeCa, DnsProvider } from '@/provisioners/types'
import { createDnsResolver, type DomainResolver } from './dns-resolver'

/**
 * What the domain, DNS and certificate jobs and actions need, built once per process: the orchestrator's parts
 * (database, router, jobs, clock) plus the hosting zone's DNS provider, the key ring that encrypts certificate keys
 * for the load balancers, the resolver that checks clients' records, and the ACME CA.
 */
export interface DomainContext extends Orchestrator {
  /** the hosting zone's records (unset: GANDI_TOKEN not configured) */
  dns: DnsProvider | undefined
  /** encrypts private keys for the load-balancer agents (unset: LB_CERTIFICATE_KEYS not configured) */
  lbBox: SecretBox | undefined
  resolver: DomainResolver
  /** the CA for an account key (unset: ACME_DIRECTORY_URL not configured) */
  acme: ((accountKey: string) => AcmeCa) | undefined
}

export function createDomainContext(
  orchestrator: Orchestrator,
  overrides: Partial<Pick<DomainContext, 'dns' | 'lbBox' | 'resolver' | 'acme'>> = {},
): DomainContext {
  const { config } = orchestrator
  const dns =
    'dns' in overrides
      ? overrides.dns
      : config.dns
        ? createGandiDns({
            baseUrl: config.dns.apiUrl,
            token: config.dns.token,
            zone: config.hostingZone,
            timeoutMs: config.providerTimeoutMs,
          })
        : undefined
  const lbBox =
    'lbBox' in overrides
      ? overrides.lbBox
      : config.certificates.lbKeys
        ? createSecretBox(parseSecretKeys(config.certificates.lbKeys))
        : undefined
  const acmeConfig = config.acme
  const caBundle = acmeConfig?.caBundlePath ? readFileSync(acmeConfig.caBundlePath, 'utf8') : undefined
  const acme =
    'acme' in overrides
      ? overrides.acme
      : acmeConfig
        ? (accountKey: string) =>
            createAcmeCa({
              directoryUrl: acmeConfig.directoryUrl,
              accountKey,
              email: acmeConfig.email,
              caBundle,
              timeoutMs: config.providerTimeoutMs,
            })
        : undefined
  return {
    ...orchestrator,
    dns,
    lbBox,
    resolver: overrides.resolver ?? createDnsResolver(config.domains.resolvers, config.providerTimeoutMs),
    acme,
  }
}
