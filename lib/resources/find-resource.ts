import { z } from 'zod'
import type { Actor } from '@/lib/auth/actor'
import { canReadOrganization } from '@/lib/auth/policy'
import type { Db } from '@/lib/db/client'
import { notFound } from '@/lib/errors'
import { RESOURCE_WITH_CLUSTER } from './to-resource'

/** The resource if the actor may read its instance; otherwise not_found (also for other organizations'). */
export async function findReadableResource(db: Db, actor: Actor, id: string) {
  const row = z.uuid().safeParse(id).success
    ? await db.resource.findUnique({
        where: { id },
        include: { ...RESOURCE_WITH_CLUSTER, instance: { select: { organizationId: true, slug: true, status: true } } },
      })
    : null
  if (!row || !canReadOrganization(actor, row.instance.organizationId)) throw notFound('Resource')
  return row
}
