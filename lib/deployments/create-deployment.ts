import { actorLabel, type Actor } from '@/lib/auth/actor'
import { assertStaff } from '@/lib/auth/policy'
import { recordAudit } from '@/lib/audit/record-audit'
import type { Prisma } from '@/lib/db/generated/client'
import type { DeploymentTrigger, VmDriverKind } from '@/lib/db/generated/enums'
import { isUniqueViolationOf } from '@/lib/db/errors'
import { conflict, DomainError } from '@/lib/errors'
import { findReadableInstance } from '@/lib/instances/get-instance'
import { QUEUES } from '@/lib/jobs/queues'
import { sealJson } from '@/lib/secrets'
import { splitSecrets } from './frozen-configuration'
import { lockInstance } from './locks'
import type { DeployContext } from './orchestrator'
import { resourcesForRender } from '@/lib/resources/instance-resources'
import { ensureInstanceSecrets, verifiedHostnames, renderInstance } from './render-instance'

type Tx = Prisma.TransactionClient

export interface CreateDeploymentOptions {
  actor: Actor
  instanceId: string
  /** deploy (staff, first or redeploy), rollback (rebuild of an earlier configuration), rollout (the scheduler) */
  trigger?: DeploymentTrigger
  rolloutId?: string
  /** rebuild this earlier deployment's frozen configuration instead of rendering the current settings */
  rollbackOf?: {
    id: string
    configuration: Prisma.JsonValue
    configurationSecrets: string
    secretKeys: string[]
    healthPath: string
    release: string | null
  }
}

/**
 * Starts a deployment: freezes the instance's rendered configuration, creates its appservers (state new)
 * and queues their first step. A second deployment while one is in progress is refused by the database
 * (a partial unique index), not by a check that could race.
 */
export async function createDeployment(o: DeployContext, options: CreateDeploymentOptions) {
  // Another organization's instance is "not found" before it is "not allowed".
  await findReadableInstance(o.db, options.actor, options.instanceId)
  assertStaff(options.actor)
  const driver: VmDriverKind = o.config.vmDriver
  const created = await o.db
    .$transaction(
      async (tx) => {
        const instance = await lockInstance(tx, options.instanceId)
        if (instance.status === 'archived') throw conflict('This instance is archived; restore it before deploying')
        const frozen = options.rollbackOf ?? (await freeze(tx, o, instance))
        const { _max } = await tx.deployment.aggregate({ where: { instanceId: instance.id }, _max: { number: true } })
        const deployment = await tx.deployment.create({
          data: {
            instanceId: instance.id,
            number: (_max.number ?? 0) + 1,
            trigger: options.trigger ?? (options.rollbackOf ? 'rollback' : 'deploy'),
            driver,
            appserverCount: instance.appserverCount,
            configuration: frozen.configuration ?? {},
            configurationSecrets: frozen.configurationSecrets,
            secretKeys: frozen.secretKeys,
            healthPath: frozen.healthPath,
            release: frozen.release,
            rollbackOfId: options.rollbackOf?.id ?? null,
            rolloutId: options.rolloutId ?? null,
            requestedById: options.actor.kind === 'user' ? options.actor.userId : null,
            requestedBy: actorLabel(options.actor),
          },
        })
        await tx.appserver.createMany({
          data: Array.from({ length: instance.appserverCount }, (_, i) => ({
            deploymentId: deployment.id,
            instanceId: instance.id,
            index: i + 1,
            driver,
            nextCheckAt: o.now(),
          })),
        })
        await recordAudit(tx, {
          actor: options.actor,
          action: options.rollbackOf ? 'deployment.rollback_started' : 'deployment.created',
          targetType: 'instance',
          targetId: instance.id,
          organizationId: instance.organizationId,
          after: {
            deployment: deployment.number,
            trigger: deployment.trigger,
            driver,
            appservers: instance.appserverCount,
            release: deployment.release,
          },
        })
        return deployment
      },
      // A first deployment generates the instance's secrets (an RSA key) in here: more than the default 5 s on a busy machine.
      { timeout: 60_000, maxWait: 30_000 },
    )
    .catch(async (err: unknown) => {
      if (isUniqueViolationOf(err, 'deployments_one_in_progress_per_instance')) throw await inProgressConflict(o, options.instanceId)
      throw err
    })
  const appservers = await o.db.appserver.findMany({ where: { deploymentId: created.id }, select: { id: true } })
  for (const a of appservers) await o.jobs.send(QUEUES.advanceAppserver.name, { appserverId: a.id })
  return created
}

async function freeze(tx: Tx, o: DeployContext, instance: Awaited<ReturnType<typeof lockInstance>>) {
  const secrets = await ensureInstanceSecrets(tx, o.box, instance)
  const rendered = renderInstance(
    instance,
    secrets,
    o.config.hostingZone,
    await resourcesForRender(tx, o.box, instance.id),
    await verifiedHostnames(tx, instance.id),
  )
  const { plain, secrets: secretValues } = splitSecrets(rendered.variables, rendered.secretKeys)
  const release =
    typeof (instance.settings as { release?: unknown }).release === 'string' ? (instance.settings as { release: string }).release : null
  return {
    configuration: plain as Prisma.InputJsonValue,
    configurationSecrets: sealJson(o.box, secretValues),
    secretKeys: rendered.secretKeys,
    healthPath: rendered.healthPath,
    release,
  }
}

async function inProgressConflict(o: DeployContext, instanceId: string): Promise<DomainError> {
  const current = await o.db.deployment.findFirst({ where: { instanceId, status: { in: ['building', 'activating'] } } })
  return conflict(
    current
      ? `Deployment #${current.number} (requested by ${current.requestedBy}) is already in progress for this instance; wait for it or cancel it`
      : 'Another deployment is already in progress for this instance',
    current ? { deploymentId: current.id, number: current.number, status: current.status } : undefined,
  )
}
