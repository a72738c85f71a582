import type { Db } from '@/lib/db/client'
import type { Prisma } from '@/lib/db/generated/client'
import type { DesiredRouting, Router } from '@/provisioners/types'

/**
 * The default setup has no load balancer: the `direct` router records where each instance's traffic
 * should go, and the console links to the first active appserver's own address.
 */
export function createDirectRouter(db: Db): Router {
  return {
    kind: 'direct',
    async publish(routing: DesiredRouting) {
      const url = routing.backends.find((b) => b.role === 'active')?.address ?? null
      const data = { url, routing: routing as unknown as Prisma.InputJsonValue }
      await db.instanceRoute.upsert({
        where: { instanceId: routing.instanceId },
        create: { instanceId: routing.instanceId, ...data },
        update: { ...data, revision: { increment: 1 } },
      })
    },
    async remove(instanceId: string) {
      await db.instanceRoute.deleteMany({ where: { instanceId } })
    },
  }
}
