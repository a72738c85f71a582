import { z } from 'zod'
import type { Prisma } from '@/lib/db/generated/client'
import { notFound } from '@/lib/errors'

type Tx = Prisma.TransactionClient

/**
 * Row locks of the deployment machinery, always taken in this order: the instance, then its deployments, then
 * appservers by id. Appserver steps lock only their own row, so they never wait on a deployment.
 */

/** Locks the instance row: deployments of one instance are numbered and its secrets generated one at a time. */
export async function lockInstance(tx: Tx, instanceId: string) {
  // Not a UUID: PostgreSQL would refuse the cast with an error (a 500); it names no instance.
  if (!z.uuid().safeParse(instanceId).success) throw notFound('Instance')
  const rows = await tx.$queryRaw<{ id: string }[]>`SELECT id FROM instances WHERE id = ${instanceId}::uuid FOR UPDATE`
  const instance = rows.length ? await tx.instance.findUnique({ where: { id: instanceId } }) : null
  if (!instance) throw notFound('Instance')
  return instance
}

/** Locks appservers, sorted, so two transactions locking overlapping sets take the locks in the same order. */
export async function lockAppservers(tx: Tx, ids: readonly string[]): Promise<void> {
  if (!ids.length) return
  await tx.$queryRaw`SELECT id FROM appservers WHERE id = ANY(${[...ids].sort()}::uuid[]) ORDER BY id FOR UPDATE`
}
