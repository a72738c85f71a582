import type { Prisma } from '@/lib/db/generated/client'
import { EVENTS_CHANNEL, type TenonEvent } from './types'

/** Announces a change to open consoles, inside the caller's transaction (delivered on commit, dropped on rollback). */
export async function notifyEvent(tx: Prisma.TransactionClient, event: Omit<TenonEvent, 'at'> & { at?: Date }): Promise<void> {
  const payload: TenonEvent = { ...event, at: (event.at ?? new Date()).toISOString() }
  await tx.$executeRaw`SELECT pg_notify(${EVENTS_CHANNEL}, ${JSON.stringify(payload)})`
}
