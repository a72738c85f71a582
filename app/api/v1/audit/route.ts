import { z } from 'zod'
import { defineRoute } from '@/app/api/_lib/route'
import { listAudit, ZAuditEntry, ZListAuditQuery } from '@/lib/audit/list-audit'

export const GET = defineRoute(
  {
    method: 'GET',
    path: '/api/v1/audit',
    summary: 'Read the audit log (staff: all; owners: their organization)',
    tag: 'Audit',
    auth: 'user',
    query: ZListAuditQuery,
    response: z.object({ items: z.array(ZAuditEntry), nextCursor: z.string().nullable() }),
    errors: [403],
  },
  ({ actor, query, ctx }) => listAudit({ db: ctx.db, actor, query }),
)
