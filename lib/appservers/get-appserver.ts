import { z } from 'zod'
import type { Actor } from '@/lib/auth/actor'
import { canReadOrganization, isStaff } from '@/lib/auth/policy'
import { MASK } from '@/lib/blueprints/configuration-diff'
import { joinSecrets } from '@/lib/deployments/frozen-configuration'
import type { Db } from '@/lib/db/client'
import { notFound } from '@/lib/errors'
import { toAppserverSummary } from '@/lib/deployments/list-deployments'

/**
 * One appserver, for anyone who may read its instance. Its frozen configuration (secrets masked), address
 * and errors are for staff; clients see its state.
 */
export async function getAppserver(db: Db, actor: Actor, id: string) {
  const row = z.uuid().safeParse(id).success
    ? await db.appserver.findUnique({
        where: { id },
        include: {
          deployment: { select: { number: true, configuration: true, secretKeys: true, healthPath: true } },
          instance: { select: { organizationId: true, slug: true, name: true } },
        },
      })
    : null
  if (!row || !canReadOrganization(actor, row.instance.organizationId)) throw notFound('Appserver')
  const staff = isStaff(actor)
  return {
    ...toAppserverSummary(row, staff),
    deploymentId: row.deploymentId,
    deploymentNumber: row.deployment.number,
    instanceId: row.instanceId,
    instance: { slug: row.instance.slug, name: row.instance.name },
    externalId: staff ? row.externalId : null,
    healthPath: row.deployment.healthPath,
    // Stored without its secret values: put a mask where each one goes, so staff see that it is set.
    configuration: staff
      ? joinSecrets(
          row.deployment.configuration as Record<string, unknown>,
          Object.fromEntries(row.deployment.secretKeys.map((k) => [k, MASK])),
        )
      : null,
    secretKeys: staff ? row.deployment.secretKeys : [],
  }
}

/**
 * An appserver's log after line `after`, oldest first. Staff read everything; clients read only the
 * state transitions (provisioning output names infrastructure).
 */
export async function listAppserverLog(db: Db, actor: Actor, id: string, opts: { after?: bigint; limit: number }) {
  const appserver = await getAppserver(db, actor, id)
  const rows = await db.appserverLogLine.findMany({
    where: {
      appserverId: appserver.id,
      ...(opts.after !== undefined ? { id: { gt: opts.after } } : {}),
      ...(isStaff(actor) ? {} : { kind: 'transition' }),
    },
    orderBy: { id: 'asc' },
    take: opts.limit,
  })
  return {
    items: rows.map((l) => ({
      id: String(l.id),
      at: l.at.toISOString(),
      kind: l.kind,
      fromState: l.fromState,
      toState: l.toState,
      message: l.message,
    })),
    last: rows.length ? String(rows[rows.length - 1]!.id) : opts.after !== undefined ? String(opts.after) : null,
  }
}
