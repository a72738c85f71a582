import { z } from 'zod'

export const ZAddDomainBody = z.object({
  hostname: z.string().max(300).describe('The hostname, e.g. learn.example.com (no wildcard, not under the hosting zone)'),
})

export const ZDnsRecordHint = z.object({
  type: z.enum(['CNAME', 'TXT']),
  name: z.string(),
  value: z.string(),
  purpose: z.string(),
  required: z.boolean(),
})

export const ZCertificateSummary = z.object({
  id: z.string(),
  source: z.enum(['acme', 'uploaded']),
  scope: z.enum(['zone', 'instance', 'custom']),
  state: z.enum(['pending', 'issuing', 'valid', 'renewing', 'failed', 'expired']),
  hostnames: z.array(z.string()),
  issuer: z.string().nullable(),
  notAfter: z.iso.datetime().nullable(),
  fingerprint: z.string().nullable(),
  lastAttemptAt: z.iso.datetime().nullable(),
  lastError: z.string().nullable(),
  nextAttemptAt: z.iso.datetime().nullable(),
  renewAt: z.iso.datetime().nullable(),
})
export type TCertificateSummary = z.infer<typeof ZCertificateSummary>

export const ZDomain = z.object({
  id: z.string(),
  instanceId: z.string(),
  hostname: z.string(),
  state: z.enum(['pending', 'verified', 'expired']),
  verificationExpiresAt: z.iso.datetime(),
  verifiedAt: z.iso.datetime().nullable(),
  lastCheckedAt: z.iso.datetime().nullable(),
  nextCheckAt: z.iso.datetime().nullable(),
  lastCheckError: z.string().nullable(),
  pointsHere: z.boolean().nullable(),
  acmeDelegated: z.boolean(),
  /** the records the client creates at their DNS provider */
  records: z.array(ZDnsRecordHint),
  certificate: ZCertificateSummary.nullable(),
  createdAt: z.iso.datetime(),
})
export type TDomain = z.infer<typeof ZDomain>

export const ZInstanceHostname = z.object({
  hostname: z.string(),
  role: z.string(),
  /** records in the hosting zone: synced, pending, failed, or not managed (no DNS provider configured) */
  dnsState: z.enum(['synced', 'pending', 'failed', 'deleting', 'unmanaged']),
  dnsError: z.string().nullable(),
  certificate: ZCertificateSummary.nullable(),
})

export const ZInstanceDomains = z.object({
  hostnames: z.array(ZInstanceHostname),
  domains: z.array(ZDomain),
  /** whether certificates are issued here (ACME configured) */
  acme: z.boolean(),
})
export type TInstanceDomains = z.infer<typeof ZInstanceDomains>
