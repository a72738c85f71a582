import type { Prisma } from '@/lib/db/generated/client'
import type { AppserverState } from '@/lib/db/generated/enums'
import { notifyEvent } from '@/lib/events/notify'
import { assertAppserverTransition } from './appserver-states'

type Tx = Prisma.TransactionClient

/** The appserver fields a transition needs. */
export interface AppserverRef {
  id: string
  state: AppserverState
  instanceId: string
  organizationId: string
}

/** Longest log line kept; longer provisioning output is cut (the full output stays on the VM). */
const MAX_LINE = 2000

/**
 * Moves an appserver to `to` (checked against the transition table), records the transition with its time
 * in the appserver's log, and tells open consoles. The caller holds the appserver's row lock.
 */
export async function transitionAppserver(
  tx: Tx,
  appserver: AppserverRef,
  to: AppserverState,
  message: string,
  data: Prisma.AppserverUncheckedUpdateInput = {},
  now = new Date(),
): Promise<void> {
  assertAppserverTransition(appserver.state, to)
  await tx.appserver.update({ where: { id: appserver.id }, data: { ...data, state: to, stateChangedAt: now } })
  const line = await tx.appserverLogLine.create({
    data: {
      appserverId: appserver.id,
      at: now,
      kind: 'transition',
      fromState: appserver.state,
      toState: to,
      message: message.slice(0, MAX_LINE),
    },
  })
  // State changes reach the instance's organization; log lines below reach staff only.
  await notifyEvent(tx, {
    id: String(line.id),
    at: now,
    action: 'appserver.state_changed',
    targetType: 'appserver',
    targetId: appserver.id,
    organizationId: appserver.organizationId,
  })
  appserver.state = to
}

/** Stores provisioning output lines (secrets never reach here: drivers do not log them). */
export async function appendAppserverLog(tx: Tx, appserverId: string, lines: string[], kind: 'info' | 'error' = 'info', now = new Date()) {
  if (!lines.length) return
  await tx.appserverLogLine.createMany({
    data: lines.map((message) => ({ appserverId, at: now, kind, message: message.slice(0, MAX_LINE) })),
  })
  await notifyEvent(tx, {
    id: `${appserverId}:${now.getTime()}`,
    at: now,
    action: 'appserver.logged',
    targetType: 'appserver',
    targetId: appserverId,
    organizationId: null,
  })
}
