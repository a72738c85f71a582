import { actorLabel, type Actor } from '@/lib/auth/actor'
import { assertStaff } from '@/lib/auth/policy'
import { recordAudit } from '@/lib/audit/record-audit'
import type { Prisma } from '@/lib/db/generated/client'
import { invalidInput } from '@/lib/errors'
import type { Orchestrator } from '@/lib/deployments/orchestrator'
import { QUEUES } from '@/lib/jobs/queues'
import { getRollout } from './get-rollout'
import type { TCreateRolloutRequest, TRollout } from './schemas'
import { selectInstances } from './select-instances'

type DeployContext = Pick<Orchestrator, 'db' | 'jobs' | 'now'>

/** Staff (or the scheduler) start a rolling redeploy over a selection of instances. */
export async function createRollout(o: DeployContext, actor: Actor, input: TCreateRolloutRequest): Promise<TRollout> {
  assertStaff(actor)
  const instanceIds = await selectInstances(o.db, input.selection, o.now())
  if (!instanceIds.length) throw invalidInput([{ field: 'selection', message: 'selects no instance' }], 'The selection matches no instance')
  const rollout = await o.db.$transaction(async (tx) => {
    const created = await tx.rollout.create({
      data: {
        selection: input.selection as Prisma.InputJsonValue,
        concurrency: input.concurrency,
        failureBudgetPercent: input.failureBudgetPercent,
        total: instanceIds.length,
        createdById: actor.kind === 'user' ? actor.userId : null,
        createdBy: actorLabel(actor),
      },
    })
    await tx.rolloutItem.createMany({ data: instanceIds.map((instanceId, position) => ({ rolloutId: created.id, instanceId, position })) })
    await recordAudit(tx, {
      actor,
      action: 'rollout.created',
      targetType: 'rollout',
      targetId: created.id,
      organizationId: null,
      after: {
        selection: input.selection,
        instances: instanceIds.length,
        concurrency: input.concurrency,
        failureBudgetPercent: input.failureBudgetPercent,
      },
    })
    return created
  })
  await o.jobs.send(QUEUES.advanceRollout.name, { rolloutId: rollout.id })
  return getRollout(o.db, actor, rollout.id)
}
