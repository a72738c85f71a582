import type { Actor } from '@/lib/auth/actor'
import { isStaff } from '@/lib/auth/policy'
import type { Db } from '@/lib/db/client'
import type { Prisma } from '@/lib/db/generated/client'
import { findReadableInstance } from '@/lib/instances/get-instance'
import type { TAppserverSummary, TDeployment } from './schemas'

export const DEPLOYMENT_WITH_APPSERVERS = { appservers: { orderBy: { index: 'asc' } } } satisfies Prisma.DeploymentInclude
type Row = Prisma.DeploymentGetPayload<{ include: typeof DEPLOYMENT_WITH_APPSERVERS }>
type AppserverRow = Row['appservers'][number]

const iso = (d: Date | null) => d?.toISOString() ?? null

export function toAppserverSummary(a: AppserverRow, staff: boolean): TAppserverSummary {
  return {
    id: a.id,
    index: a.index,
    driver: a.driver,
    state: a.state,
    stateChangedAt: a.stateChangedAt.toISOString(),
    // Addresses are infrastructure: clients reach their site through its hostnames.
    address: staff ? a.address : null,
    failedPhase: a.failedPhase,
    error: staff ? a.error : a.error ? 'failed (details are visible to hosting staff)' : null,
    createdAt: a.createdAt.toISOString(),
    terminatedAt: iso(a.terminatedAt),
  }
}

export function toDeployment(d: Row, staff: boolean): TDeployment {
  return {
    id: d.id,
    instanceId: d.instanceId,
    number: d.number,
    status: d.status,
    trigger: d.trigger,
    driver: d.driver,
    release: d.release,
    appserverCount: d.appserverCount,
    rollbackOfId: d.rollbackOfId,
    rolloutId: d.rolloutId,
    requestedBy: d.requestedBy,
    error: staff ? d.error : d.error ? 'failed (details are visible to hosting staff)' : null,
    createdAt: d.createdAt.toISOString(),
    activatedAt: iso(d.activatedAt),
    supersededAt: iso(d.supersededAt),
    finishedAt: iso(d.finishedAt),
    appservers: d.appservers.map((a) => toAppserverSummary(a, staff)),
  }
}

/** An instance's deployments, newest first (paginated by number), for anyone who may read the instance. */
export async function listDeployments(db: Db, actor: Actor, instanceId: string, opts: { limit: number; before?: number }) {
  const instance = await findReadableInstance(db, actor, instanceId)
  const rows = await db.deployment.findMany({
    where: { instanceId: instance.id, ...(opts.before !== undefined ? { number: { lt: opts.before } } : {}) },
    orderBy: { number: 'desc' },
    take: opts.limit + 1,
    include: DEPLOYMENT_WITH_APPSERVERS,
  })
  const page = rows.slice(0, opts.limit)
  return {
    items: page.map((d) => toDeployment(d, isStaff(actor))),
    nextBefore: rows.length > opts.limit ? (page[page.length - 1]?.number ?? null) : null,
  }
}
