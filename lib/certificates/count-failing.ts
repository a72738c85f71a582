import type { Prisma } from '@/lib/db/generated/client'
import type { Db } from '@/lib/db/client'

/**
 * What makes a certificate need a person: it failed or expired, or its last attempt left an error (a renewal that
 * failed keeps serving the old certificate, so its state alone does not say so). The Certificates page sorts these
 * first; the console's banner counts them.
 */
export const FAILING_CERTIFICATES = {
  OR: [{ state: { in: ['failed', 'expired'] } }, { lastError: { not: null } }],
} satisfies Prisma.CertificateWhereInput

/**
 * How many certificates need attention: one count, cheap enough for the console layout to run on every staff page
 * (the layout shows a banner when it is not zero). Not a permission check: callers show it to staff only.
 */
export function countFailingCertificates(db: Pick<Db, 'certificate'>): Promise<number> {
  return db.certificate.count({ where: FAILING_CERTIFICATES })
}
