import type { Actor } from '@/lib/auth/actor'
import { assertStaff } from '@/lib/auth/policy'
import type { Db } from '@/lib/db/client'
import type { Prisma } from '@/lib/db/generated/client'
import { conflict, invalidInput, type FieldError } from '@/lib/errors'
import { checkExtraSettings } from './extra-settings'
import { findReadableInstance } from './get-instance'
import type { TInstance, TUpdateInstanceRequest } from './schemas'
import { toInstance } from './to-instance'
import { writeInstanceIfUnchanged } from './write-instance'
import { mergeSettings, validateSettings } from './validate-settings'

/**
 * Staff edit an instance's name and settings. Optimistic concurrency: the update names the version it
 * read, and a stale version is refused with 409 carrying the current instance, so the editor can merge.
 */
export async function updateInstance(opts: {
  db: Db
  actor: Actor
  hostingZone: string
  id: string
  input: TUpdateInstanceRequest
}): Promise<TInstance> {
  const { db, actor, input } = opts
  const current = await findReadableInstance(db, actor, opts.id)
  assertStaff(actor)
  if (current.status === 'archived') throw conflict('An archived instance cannot be edited')
  if (current.version !== input.version) {
    throw conflict(
      `The instance changed since you read it (your version ${input.version}, now ${current.version})`,
      toInstance(current, opts.hostingZone),
    )
  }
  const fields: FieldError[] = []
  let settings = current.settings as Record<string, unknown>
  if (input.settings) {
    const checked = validateSettings(current.blueprint, mergeSettings(settings, input.settings))
    if (checked.ok) settings = checked.settings
    else fields.push(...checked.fields)
  }
  if (input.extraSettings !== undefined) fields.push(...checkExtraSettings(input.extraSettings))
  if (fields.length) throw invalidInput(fields)

  const row = await writeInstanceIfUnchanged({
    db,
    actor,
    current,
    version: input.version,
    data: {
      name: input.name ?? current.name,
      settings: settings as Prisma.InputJsonValue,
      extraSettings: input.extraSettings ?? current.extraSettings,
      appserverCount: input.appserverCount ?? current.appserverCount,
    },
    action: 'instance.updated',
  })
  if (!row) {
    const latest = await findReadableInstance(db, actor, current.id)
    throw conflict('The instance changed while you were saving', toInstance(latest, opts.hostingZone))
  }
  return toInstance(row, opts.hostingZone)
}
