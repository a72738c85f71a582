import { z } from 'zod'
import { defineRoute } from '@/app/api/_lib/route'
import { retryCertificate } from '@/lib/certificates/retry-certificate'
import { getDomainContext } from '@/lib/domains/get-domain-context'
import { ZCertificateSummary } from '@/lib/domains/schemas'

export const POST = defineRoute(
  {
    method: 'POST',
    path: '/api/v1/certificates/{id}/retry',
    summary: 'Order an ACME certificate now (staff), within the rate-limit budget; answers at once',
    tag: 'Certificates',
    auth: 'staff',
    params: z.object({ id: z.string().describe('Certificate id') }),
    response: ZCertificateSummary,
    status: 202,
    errors: [403, 404, 409],
  },
  async ({ actor, params }) => retryCertificate(await getDomainContext(), actor, params.id),
)
