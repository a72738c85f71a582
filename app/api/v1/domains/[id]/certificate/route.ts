import { z } from 'zod'
import { defineRoute } from '@/app/api/_lib/route'
import { uploadCertificate, ZUploadCertificateBody } from '@/lib/certificates/upload-certificate'
import { getDomainContext } from '@/lib/domains/get-domain-context'
import { ZCertificateSummary } from '@/lib/domains/schemas'

export const PUT = defineRoute(
  {
    method: 'PUT',
    path: '/api/v1/domains/{id}/certificate',
    summary: "Upload the domain's own certificate: PEM (certificate, chain, key) or a PKCS#12 bundle (base64) with its password",
    tag: 'Domains',
    auth: 'user',
    params: z.object({ id: z.string().describe('Domain id') }),
    body: ZUploadCertificateBody,
    response: ZCertificateSummary,
    errors: [400, 404, 409],
  },
  async ({ actor, params, body }) => uploadCertificate(await getDomainContext(), actor, params.id, body),
)
