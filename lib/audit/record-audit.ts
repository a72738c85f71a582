import type { Prisma } from '@/lib/db/generated/client'
import { actorLabel, type Actor } from '@/lib/auth/actor'
import { EVENTS_CHANNEL, type TenonEvent } from '@/lib/events/types'
import { diffRecords } from './redact'

type Tx = Prisma.TransactionClient

export interface AuditInput {
  actor: Actor
  /** verb in the past tense, dotted: "instance.created", "organization.member_invited" */
  action: string
  targetType: string
  targetId: string
  organizationId: string | null
  before?: Record<string, unknown> | null
  after?: Record<string, unknown> | null
}

/**
 * Records one audit entry and announces it as an event, inside the caller's transaction: the entry and
 * the NOTIFY commit or roll back with the change itself, so the log never claims what did not happen.
 */
export async function recordAudit(tx: Tx, input: AuditInput): Promise<void> {
  const entry = await tx.auditEntry.create({
    data: {
      actorId: input.actor.kind === 'user' ? input.actor.userId : null,
      actorLabel: actorLabel(input.actor),
      apiTokenId: input.actor.kind === 'user' ? (input.actor.apiTokenId ?? null) : null,
      action: input.action,
      targetType: input.targetType,
      targetId: input.targetId,
      organizationId: input.organizationId,
      diff: diffRecords(input.before ?? null, input.after ?? null) as Prisma.InputJsonValue,
    },
  })
  const event: TenonEvent = {
    id: entry.id,
    at: entry.at.toISOString(),
    action: entry.action,
    targetType: entry.targetType,
    targetId: entry.targetId,
    organizationId: entry.organizationId,
  }
  await tx.$executeRaw`SELECT pg_notify(${EVENTS_CHANNEL}, ${JSON.stringify(event)})`
}
