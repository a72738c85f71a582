import type { Actor } from '@/lib/auth/actor'
import { assertStaff } from '@/lib/auth/policy'
import { recordAudit } from '@/lib/audit/record-audit'
import { getBlueprint } from '@/lib/blueprints'
import type { Db } from '@/lib/db/client'
import type { Prisma } from '@/lib/db/generated/client'
import type { Blueprint } from '@/lib/db/generated/enums'
import { conflict, invalidInput, type FieldError } from '@/lib/errors'
import { isUniqueViolation } from '@/lib/db/errors'
import { QUEUES } from '@/lib/jobs/queues'
import type { JobSender } from '@/lib/jobs/send'
import { placeAndAudit, sendEnsureJobs } from '@/lib/resources/provision-resources'
import type { SecretBox } from '@/lib/secrets'
import { checkExtraSettings } from './extra-settings'
import type { TCreateInstanceRequest, TInstance } from './schemas'
import { slugify, slugProblem } from './slug'
import { auditableInstance, INSTANCE_INCLUDE, toInstance } from './to-instance'
import { validateSettings } from './validate-settings'

export interface CreateInstanceOptions {
  db: Db
  actor: Actor
  hostingZone: string
  input: TCreateInstanceRequest
  /** Placement of the instance's resources on the shared clusters (none when no cluster is configured). */
  resources: { box: SecretBox; ownerTag: string; jobs: JobSender }
}

/** Staff create an instance for an organization. Nothing is written unless every field is valid. */
export async function createInstance({ db, actor, hostingZone, input, resources }: CreateInstanceOptions): Promise<TInstance> {
  assertStaff(actor)
  const blueprint = input.blueprint as Blueprint
  const slug = input.slug?.trim() ?? slugify(input.name)
  const fields: FieldError[] = []
  const problem = slugProblem(slug)
  if (problem) fields.push({ field: 'slug', message: problem })
  const settings = validateSettings(blueprint, { ...getBlueprint(blueprint).defaultSettings({ name: input.name }), ...input.settings })
  if (!settings.ok) fields.push(...settings.fields)
  fields.push(...checkExtraSettings(input.extraSettings))
  const organization = await db.organization.findUnique({ where: { id: input.organizationId }, select: { id: true } })
  if (!organization) fields.push({ field: 'organizationId', message: 'no such organization' })
  if (fields.length || !settings.ok) throw invalidInput(fields)

  try {
    const { row, resourceIds } = await db.$transaction(async (tx) => {
      const created = await tx.instance.create({
        data: {
          organizationId: input.organizationId,
          name: input.name,
          slug,
          blueprint,
          settings: settings.settings as Prisma.InputJsonValue,
          extraSettings: input.extraSettings,
          appserverCount: input.appserverCount,
        },
        include: INSTANCE_INCLUDE,
      })
      await recordAudit(tx, {
        actor,
        action: 'instance.created',
        targetType: 'instance',
        targetId: created.id,
        organizationId: created.organizationId,
        after: auditableInstance(created),
      })
      const placed = await placeAndAudit(tx, { actor, box: resources.box, ownerTag: resources.ownerTag, instance: created })
      return { row: created, resourceIds: placed }
    })
    await sendEnsureJobs(resources.jobs, resourceIds)
    // Its hostnames' records, and its own certificate (the zone's wildcard serves its main hostname meanwhile).
    await resources.jobs.send(QUEUES.syncDns.name, { instanceId: row.id })
    await resources.jobs.send(QUEUES.reconcileCertificates.name, {})
    return toInstance(row, hostingZone)
  } catch (err) {
    if (isUniqueViolation(err, 'slug')) {
      throw conflict(`The slug "${slug}" is already taken`, undefined, [{ field: 'slug', message: 'is already taken' }])
    }
    throw err
  }
}
