import { randomUUID } from 'node:crypto'
import { systemActor } from '@/lib/auth/actor'
import { recordAudit } from '@/lib/audit/record-audit'
import type { ResourceState } from '@/lib/db/generated/enums'
import { notifyEvent } from '@/lib/events/notify'
import { QUEUES } from '@/lib/jobs/queues'
import { sealJson } from '@/lib/secrets'
import type { ResourceContext } from './resource-context'
import { decideRetry, toFailure } from './resource-failure'
import { resourceSpec, storedCredentials, withResourceLock } from './resource-lock'

/**
 * The ensure job: creates (or completes, or corrects) a provisioning resource on its cluster, checks that the
 * instance's own credentials open it, and stores those credentials encrypted. Safe to run twice and after a
 * crash at any point: the names and password were stored before the first attempt, and ensure is idempotent.
 * A failure is retried with backoff (a new job with startAfter) up to RESOURCE_RETRY_LIMIT, then waits for a person.
 */
export async function ensureResource(ctx: ResourceContext, resourceId: string): Promise<ResourceState | 'busy' | 'missing'> {
  let retryAt: Date | undefined
  const result = await withResourceLock(ctx, resourceId, async (tx, row) => {
    if (row.state !== 'provisioning') return row.state
    const now = ctx.now()
    const actor = systemActor('resources')
    const audit = (action: string, before: Record<string, unknown>, after: Record<string, unknown>) =>
      recordAudit(tx, {
        actor,
        action,
        targetType: 'resource',
        targetId: row.id,
        organizationId: row.instance.organizationId,
        before,
        after,
      })
    const provisioner = ctx.provisioner(row.cluster)
    const spec = resourceSpec(ctx, row)
    try {
      const credentials = await provisioner.ensure(spec, { existing: storedCredentials(ctx, row) })
      // Stored before verify: if verify fails (an AWS key not yet usable everywhere), the next attempt reuses this key
      // instead of replacing it again. The transaction commits it either way, as the catch does not rethrow.
      await tx.resource.update({ where: { id: row.id }, data: { credentials: sealJson(ctx.box, credentials) } })
      await provisioner.verify(spec, credentials)
      await tx.resource.update({
        where: { id: row.id },
        data: {
          state: 'ready',
          attempts: 0,
          lastError: null,
          nextAttemptAt: null,
          readyAt: now,
        },
      })
      await audit('resource.ready', { state: row.state }, { state: 'ready', cluster: row.cluster.name })
      return 'ready' as const
    } catch (err) {
      const failure = toFailure(err)
      if (!failure.retryable) ctx.log.warn({ resourceId: row.id, kind: row.kind, error: failure.message }, 'resource ensure refused')
      else ctx.log.info({ resourceId: row.id, kind: row.kind, error: failure.message }, 'resource ensure failed, will retry')
      const attempts = row.attempts + 1
      const decision = decideRetry(failure, attempts, ctx.config.resources.retryLimit)
      if (decision.retry) {
        retryAt = new Date(now.getTime() + decision.delayMs)
        await tx.resource.update({ where: { id: row.id }, data: { attempts, lastError: failure.message, nextAttemptAt: retryAt } })
        // Not audited (nothing changed hands), but open consoles show the attempt and its error.
        await notifyEvent(tx, {
          id: randomUUID(),
          action: 'resource.retry_scheduled',
          targetType: 'resource',
          targetId: row.id,
          organizationId: row.instance.organizationId,
        })
        return 'provisioning' as const
      }
      await tx.resource.update({
        where: { id: row.id },
        data: { state: 'failed', attempts, lastError: failure.message, nextAttemptAt: null },
      })
      await audit('resource.failed', { state: row.state }, { state: 'failed', error: failure.message })
      return 'failed' as const
    }
  })
  if (retryAt) await ctx.jobs.send(QUEUES.ensureResource.name, { resourceId }, { startAfter: retryAt })
  return result
}
