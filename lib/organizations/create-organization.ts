import type { Actor } from '@/lib/auth/actor'
import { assertStaff } from '@/lib/auth/policy'
import { recordAudit } from '@/lib/audit/record-audit'
import type { Db } from '@/lib/db/client'
import { isUniqueViolation } from '@/lib/db/errors'
import { conflict, invalidInput } from '@/lib/errors'
import { slugify, slugProblem } from '@/lib/instances/slug'
import type { TCreateOrganizationRequest, TOrganization } from './schemas'
import { toOrganization } from './to-organization'

export async function createOrganization(opts: { db: Db; actor: Actor; input: TCreateOrganizationRequest }): Promise<TOrganization> {
  const { db, actor, input } = opts
  assertStaff(actor)
  const slug = input.slug?.trim() ?? slugify(input.name)
  const problem = slugProblem(slug)
  if (problem) throw invalidInput([{ field: 'slug', message: problem }])
  try {
    const org = await db.$transaction(async (tx) => {
      const created = await tx.organization.create({ data: { name: input.name, slug } })
      await recordAudit(tx, {
        actor,
        action: 'organization.created',
        targetType: 'organization',
        targetId: created.id,
        organizationId: created.id,
        after: { name: created.name, slug: created.slug },
      })
      return created
    })
    return toOrganization({ ...org, _count: { instances: 0, memberships: 0 } })
  } catch (err) {
    if (isUniqueViolation(err, 'slug'))
      throw conflict(`The slug "${slug}" is already taken`, undefined, [{ field: 'slug', message: 'is already taken' }])
    throw err
  }
}
