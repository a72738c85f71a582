import { transitionAppserver } from '@/lib/appservers/appserver-log'
import { LIVE_APPSERVER_STATES } from '@/lib/appservers/appserver-states'
import { QUEUES } from '@/lib/jobs/queues'
import { forgetRoute } from '@/lib/routing/record-route'
import { lockAppservers, lockInstance } from './locks'
import type { Orchestrator } from './orchestrator'

/**
 * An archived instance serves nothing: its routing is removed, deployments in progress are cancelled,
 * the others end, and every live appserver is terminated. Idempotent; the reconciler calls it for any
 * archived instance that still has live appservers.
 */
export async function retireInstance(o: Orchestrator, instanceId: string): Promise<{ terminating: number }> {
  const instance = await o.db.instance.findUnique({ where: { id: instanceId }, select: { status: true, organizationId: true } })
  if (!instance || instance.status !== 'archived') return { terminating: 0 }
  await o.router.remove(instanceId)
  await forgetRoute(o.db, instanceId)
  // Its records leave the zone, its certificates the load balancers (no instance names them any more).
  await o.jobs.send(QUEUES.syncDns.name, { instanceId })
  const certificates = await o.db.certificate.findMany({ where: { instanceId }, select: { id: true } })
  await o.db.certificate.deleteMany({ where: { instanceId } })
  for (const c of certificates) await o.jobs.send(QUEUES.removeCertificate.name, { certificateId: c.id })
  const now = o.now()
  const ids = await o.db.$transaction(async (tx) => {
    await lockInstance(tx, instanceId)
    await tx.deployment.updateMany({
      where: { instanceId, status: 'building' },
      data: { status: 'cancelled', error: 'the instance was archived' },
    })
    await tx.deployment.updateMany({
      where: { instanceId, status: { in: ['activating', 'active', 'superseded'] } },
      data: { status: 'terminated', finishedAt: now },
    })
    const live = await tx.appserver.findMany({
      where: { instanceId, state: { in: [...LIVE_APPSERVER_STATES].filter((s) => s !== 'terminating') } },
      select: { id: true, state: true },
      orderBy: { id: 'asc' },
    })
    await lockAppservers(
      tx,
      live.map((a) => a.id),
    )
    for (const a of live) {
      await transitionAppserver(
        tx,
        { ...a, instanceId, organizationId: instance.organizationId },
        'terminating',
        'the instance was archived',
        { nextCheckAt: now },
        now,
      )
    }
    return live.map((a) => a.id)
  })
  for (const id of ids) await o.jobs.send(QUEUES.advanceAppserver.name, { appserverId: id })
  return { terminating: ids.length }
}
