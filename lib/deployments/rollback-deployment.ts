import type { Actor } from '@/lib/auth/actor'
import { assertStaff } from '@/lib/auth/policy'
import { recordAudit } from '@/lib/audit/record-audit'
import { transitionAppserver } from '@/lib/appservers/appserver-log'
import { conflict, notFound } from '@/lib/errors'
import { findReadableInstance } from '@/lib/instances/get-instance'
import { QUEUES } from '@/lib/jobs/queues'
import { createDeployment } from './create-deployment'
import { lockAppservers, lockInstance } from './locks'
import { assertDeploymentTransition } from './deployment-states'
import { DEPLOYMENT_WITH_APPSERVERS } from './list-deployments'
import type { DeployContext } from './orchestrator'

/**
 * "Roll back to previous": brings back an earlier deployment. If its appservers are still running (kept
 * for rollback), they are health-checked again and take the traffic back — no rebuild. Otherwise a new
 * deployment is built from its frozen configuration. Either way it goes through the normal activation,
 * and the database still allows only one deployment in progress.
 */
export async function rollbackDeployment(o: DeployContext, actor: Actor, instanceId: string, deploymentId?: string) {
  // Tenancy first: another organization's instance is not found, not forbidden.
  const instance = await findReadableInstance(o.db, actor, instanceId)
  assertStaff(actor)
  const target = deploymentId
    ? await o.db.deployment.findFirst({ where: { id: deploymentId, instanceId: instance.id }, include: DEPLOYMENT_WITH_APPSERVERS })
    : await o.db.deployment.findFirst({
        where: { instanceId: instance.id, status: { in: ['superseded', 'terminated'] }, activatedAt: { not: null } },
        orderBy: { supersededAt: 'desc' },
        include: DEPLOYMENT_WITH_APPSERVERS,
      })
  if (!target) throw deploymentId ? notFound('Deployment') : conflict('There is no earlier deployment to roll back to')
  if (target.status === 'active') throw conflict(`Deployment #${target.number} is already active`)
  if (!target.activatedAt) throw conflict(`Deployment #${target.number} was never active; roll back to one that was`)

  const kept =
    target.status === 'superseded' &&
    target.appservers.length > 0 &&
    target.appservers.every((a) => a.state === 'inactive' || a.state === 'draining')
  if (!kept) {
    return createDeployment(o, {
      actor,
      instanceId: instance.id,
      rollbackOf: {
        id: target.id,
        configuration: target.configuration,
        configurationSecrets: target.configurationSecrets,
        secretKeys: target.secretKeys,
        healthPath: target.healthPath,
        release: target.release,
      },
    })
  }

  const now = o.now()
  const reactivated = await o.db.$transaction(async (tx) => {
    await lockInstance(tx, instance.id)
    const current = await tx.deployment.findUniqueOrThrow({ where: { id: target.id }, include: DEPLOYMENT_WITH_APPSERVERS })
    if (current.status !== 'superseded') throw conflict(`Deployment #${current.number} changed meanwhile (${current.status}); try again`)
    const busy = await tx.deployment.findFirst({ where: { instanceId: instance.id, status: { in: ['building', 'activating'] } } })
    if (busy) throw conflict(`Deployment #${busy.number} is already in progress for this instance; wait for it or cancel it`)
    assertDeploymentTransition('superseded', 'building')
    await tx.deployment.update({ where: { id: current.id }, data: { status: 'building', supersededAt: null, error: null } })
    await lockAppservers(
      tx,
      current.appservers.map((a) => a.id),
    )
    for (const a of current.appservers) {
      await transitionAppserver(
        tx,
        { id: a.id, state: a.state, instanceId: instance.id, organizationId: instance.organizationId },
        'starting',
        'rollback: checking health before taking the traffic back',
        {
          phaseDeadline: new Date(now.getTime() + o.config.appservers.healthDeadlineMs),
          healthChecks: 0,
          nextCheckAt: now,
          drainUntil: null,
        },
        now,
      )
    }
    await recordAudit(tx, {
      actor,
      action: 'deployment.rollback_started',
      targetType: 'instance',
      targetId: instance.id,
      organizationId: instance.organizationId,
      after: { deployment: current.number, rebuilt: false },
    })
    return current
  })
  for (const a of reactivated.appservers) await o.jobs.send(QUEUES.advanceAppserver.name, { appserverId: a.id })
  return o.db.deployment.findUniqueOrThrow({ where: { id: reactivated.id } })
}
