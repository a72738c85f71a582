import type { Actor } from '@/lib/auth/actor'
import { isStaff } from '@/lib/auth/policy'
import { getBlueprint } from '@/lib/blueprints'
import type { Db } from '@/lib/db/client'
import { findReadableInstance } from '@/lib/instances/get-instance'
import type { DesiredRouting, RouterKind } from '@/provisioners/types'
import type { TInstanceRouting } from './schemas'

/** Where an instance's hostnames route, as last published (clients: hostnames and maintenance only). */
export async function getInstanceRouting(
  db: Db,
  actor: Actor,
  routerKind: RouterKind,
  hostingZone: string,
  instanceId: string,
): Promise<TInstanceRouting> {
  const instance = await findReadableInstance(db, actor, instanceId)
  const route = await db.instanceRoute.findUnique({ where: { instanceId: instance.id } })
  const routing = route?.routing as DesiredRouting | undefined
  const hostnames =
    routing?.hostnames ??
    getBlueprint(instance.blueprint)
      .hostnames(instance, hostingZone)
      .map((h) => h.hostname)
  return {
    router: routerKind,
    hostnames,
    maintenance: routing?.maintenance ?? true,
    siteUrl: route?.url ?? null,
    backends: isStaff(actor) ? (routing?.backends ?? []) : null,
    revision: route?.revision ?? null,
    updatedAt: route?.updatedAt.toISOString() ?? null,
  }
}
