import { z } from 'zod'
import type { Actor } from '@/lib/auth/actor'
import { assertStaff } from '@/lib/auth/policy'
import type { Db } from '@/lib/db/client'
import { ZCertificateSummary } from '@/lib/domains/schemas'
import { countFailingCertificates } from './count-failing'
import { toCertificateSummary } from './to-certificate'

export const ZCertificateListItem = ZCertificateSummary.extend({
  instance: z.object({ id: z.string(), slug: z.string(), name: z.string() }).nullable(),
  domain: z.object({ id: z.string(), hostname: z.string() }).nullable(),
})
export const ZCertificateList = z.object({
  items: z.array(ZCertificateListItem),
  nextCursor: z.string().nullable(),
  /** certificates failing or expired: the console's banner */
  failing: z.number(),
})
export type TCertificateList = z.infer<typeof ZCertificateList>

export const ZListCertificatesQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  /** an offset into the sorted list (the order changes as certificates renew, so keysets would skip) */
  cursor: z.string().regex(/^\d+$/).optional(),
})

/**
 * Every certificate, staff only: those failing or with an error first, then by expiry (soonest first; not issued
 * yet last). Failures first because they are what someone must act on.
 */
export async function listCertificates(db: Db, actor: Actor, query: z.infer<typeof ZListCertificatesQuery>): Promise<TCertificateList> {
  assertStaff(actor)
  const offset = Number(query.cursor ?? 0)
  const ids = await db.$queryRaw<{ id: string }[]>`
    SELECT id::text AS id FROM certificates
    ORDER BY (state IN ('failed', 'expired') OR last_error IS NOT NULL) DESC, not_after ASC NULLS LAST, id
    OFFSET ${offset} LIMIT ${query.limit + 1}`
  const page = ids.slice(0, query.limit).map((r) => r.id)
  const rows = await db.certificate.findMany({
    where: { id: { in: page } },
    include: { instance: { select: { id: true, slug: true, name: true } }, domain: { select: { id: true, hostname: true } } },
  })
  const byId = new Map(rows.map((r) => [r.id, r]))
  const failing = await countFailingCertificates(db)
  return {
    items: page.flatMap((id) => {
      const r = byId.get(id)
      return r ? [{ ...toCertificateSummary(r), instance: r.instance, domain: r.domain }] : []
    }),
    nextCursor: ids.length > query.limit ? String(offset + query.limit) : null,
    failing,
  }
}
