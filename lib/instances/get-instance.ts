import type { Actor } from '@/lib/auth/actor'
import { canReadOrganization } from '@/lib/auth/policy'
import type { Db } from '@/lib/db/client'
import { notFound } from '@/lib/errors'
import { z } from 'zod'
import { INSTANCE_INCLUDE, type InstanceRow } from './to-instance'

const isUuid = (id: string) => z.uuid().safeParse(id).success

/** The instance row if the actor may read it; otherwise not_found (also for other organizations' instances). */
export async function findReadableInstance(db: Db, actor: Actor, id: string): Promise<InstanceRow> {
  const row = isUuid(id) ? await db.instance.findUnique({ where: { id }, include: INSTANCE_INCLUDE }) : null
  if (!row || !canReadOrganization(actor, row.organizationId)) throw notFound('Instance')
  return row
}
