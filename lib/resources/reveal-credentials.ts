import type { Actor } from '@/lib/auth/actor'
import { assertStaff } from '@/lib/auth/policy'
import { recordAudit } from '@/lib/audit/record-audit'
import { conflict } from '@/lib/errors'
import { openJson } from '@/lib/secrets'
import { findReadableResource } from './find-resource'
import type { ResourceContext } from './resource-context'

/** Staff read a resource's credentials (to debug an instance by hand). Every reveal is audited, in the same transaction. */
export async function revealCredentials(ctx: Pick<ResourceContext, 'db' | 'box'>, actor: Actor, resourceId: string) {
  const current = await findReadableResource(ctx.db, actor, resourceId)
  assertStaff(actor)
  if (!current.credentials) throw conflict(`The resource has no credentials yet (it is ${current.state})`)
  const credentials = openJson<Record<string, unknown>>(ctx.box, current.credentials)
  await ctx.db.$transaction((tx) =>
    recordAudit(tx, {
      actor,
      action: 'resource.credentials_revealed',
      targetType: 'resource',
      targetId: resourceId,
      organizationId: current.instance.organizationId,
    }),
  )
  return { resourceId, kind: current.kind, credentials }
}
