import { z } from 'zod'

/**
 * The parts of the domain and certificate API responses the console's dialogs read (the full shapes are in
 * /api/v1/openapi.json, from lib/domains/schemas.ts).
 */
export const ZDnsRecordShown = z.object({
  type: z.string(),
  name: z.string(),
  value: z.string(),
  purpose: z.string(),
  required: z.boolean(),
})
export type TDnsRecordShown = z.infer<typeof ZDnsRecordShown>

/** POST /api/v1/instances/{id}/domains: the instance's domains, the new one with the records to create. */
export const ZDomainsAnswer = z.object({
  domains: z.array(z.object({ id: z.string(), hostname: z.string(), createdAt: z.string(), records: z.array(ZDnsRecordShown) })),
})

/** PUT /api/v1/domains/{id}/certificate */
export const ZUploadedCertificate = z.object({ id: z.string(), issuer: z.string().nullable(), notAfter: z.string().nullable() })
