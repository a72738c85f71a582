import { defineRoute } from '@/app/api/_lib/route'
import { listCertificates, ZCertificateList, ZListCertificatesQuery } from '@/lib/certificates/list-certificates'

export const GET = defineRoute(
  {
    method: 'GET',
    path: '/api/v1/certificates',
    summary: 'Every certificate (staff): failing first, then by expiry',
    tag: 'Certificates',
    auth: 'staff',
    query: ZListCertificatesQuery,
    response: ZCertificateList,
    errors: [403],
  },
  ({ actor, query, ctx }) => listCertificates(ctx.db, actor, query),
)
