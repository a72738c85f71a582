import type { Actor } from '@/lib/auth/actor'
import { assertStaff } from '@/lib/auth/policy'
import { recordAudit } from '@/lib/audit/record-audit'
import { conflict, notFound } from '@/lib/errors'
import { findReadableInstance } from '@/lib/instances/get-instance'
import { QUEUES } from '@/lib/jobs/queues'
import { lockInstance } from './locks'
import { assertDeploymentTransition } from './deployment-states'
import type { Orchestrator } from './orchestrator'

/** Staff stop a deployment that is still building; its appservers are terminated, the active one is untouched. */
export async function cancelDeployment(o: Pick<Orchestrator, 'db' | 'jobs'>, actor: Actor, instanceId: string, deploymentId: string) {
  // Tenancy first: another organization's instance is not found, not forbidden.
  const instance = await findReadableInstance(o.db, actor, instanceId)
  assertStaff(actor)
  await o.db.$transaction(async (tx) => {
    await lockInstance(tx, instance.id)
    const d = await tx.deployment.findFirst({ where: { id: deploymentId, instanceId: instance.id } })
    if (!d) throw notFound('Deployment')
    if (d.status !== 'building') throw conflict(`Deployment #${d.number} is ${d.status}; only a building deployment can be cancelled`)
    assertDeploymentTransition('building', 'cancelled')
    await tx.deployment.update({ where: { id: d.id }, data: { status: 'cancelled', error: 'cancelled by staff' } })
    await recordAudit(tx, {
      actor,
      action: 'deployment.cancelled',
      targetType: 'instance',
      targetId: instance.id,
      organizationId: instance.organizationId,
      after: { deployment: d.number },
    })
  })
  // The deployment step terminates its appservers (each after its current step).
  await o.jobs.send(QUEUES.advanceDeployment.name, { deploymentId })
}
