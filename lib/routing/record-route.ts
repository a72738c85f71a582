import type { Db } from '@/lib/db/client'
import type { Prisma } from '@/lib/db/generated/client'
import type { DesiredRouting } from '@/provisioners/types'

/** Keeps the routing last published for an instance, and where its site is, for the console. */
export async function recordRoute(db: Db, routing: DesiredRouting, url: string | null): Promise<void> {
  const data = { url, routing: routing as unknown as Prisma.InputJsonValue }
  await db.instanceRoute.upsert({
    where: { instanceId: routing.instanceId },
    create: { instanceId: routing.instanceId, ...data },
    update: { ...data, revision: { increment: 1 } },
  })
}

export async function forgetRoute(db: Db, instanceId: string): Promise<void> {
  await db.instanceRoute.deleteMany({ where: { instanceId } })
}
