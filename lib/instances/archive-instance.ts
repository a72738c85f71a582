import type { Actor } from '@/lib/auth/actor'
import { assertStaff } from '@/lib/auth/policy'
import type { Db } from '@/lib/db/client'
import { conflict, invalidInput } from '@/lib/errors'
import { findReadableInstance } from './get-instance'
import type { TInstance } from './schemas'
import { toInstance } from './to-instance'
import { writeInstanceIfUnchanged } from './write-instance'

/**
 * Archives an instance. The caller must type the instance's slug again (`confirm`), in the API as in the
 * console, so a wrong id in a script cannot archive the wrong site.
 */
export async function archiveInstance(opts: {
  db: Db
  actor: Actor
  hostingZone: string
  id: string
  confirm: string
}): Promise<TInstance> {
  const { db, actor } = opts
  const current = await findReadableInstance(db, actor, opts.id)
  assertStaff(actor)
  if (opts.confirm !== current.slug) {
    throw invalidInput([{ field: 'confirm', message: `must be the instance's slug ("${current.slug}")` }])
  }
  if (current.status === 'archived') throw conflict('The instance is already archived', toInstance(current, opts.hostingZone))
  // Only the archive that still finds the instance as it was read wins; a concurrent one gets 409 below.
  const row = await writeInstanceIfUnchanged({
    db,
    actor,
    current,
    version: current.version,
    where: { status: { not: 'archived' } },
    data: { status: 'archived', archivedAt: new Date() },
    action: 'instance.archived',
  })
  if (!row) {
    const latest = await findReadableInstance(db, actor, current.id)
    throw conflict(
      latest.status === 'archived' ? 'The instance is already archived' : 'The instance changed while you were archiving it',
      toInstance(latest, opts.hostingZone),
    )
  }
  return toInstance(row, opts.hostingZone)
}
