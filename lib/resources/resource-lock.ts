import { z } from 'zod'
import type { Cluster, Instance, Prisma, Resource } from '@/lib/db/generated/client'
import { getBlueprint } from '@/lib/blueprints'
import { openJson } from '@/lib/secrets'
import type { ResourceCredentialsOf, ResourceKind, ResourceNames, ResourceSpec } from '@/provisioners/types'
import type { ResourceContext } from './resource-context'

type Tx = Prisma.TransactionClient

export type LockedResource = Resource & { cluster: Cluster; instance: Pick<Instance, 'id' | 'slug' | 'blueprint' | 'organizationId'> }

/** How long one resource step may hold its row lock (each provider call has its own shorter timeout). */
const STEP_TIMEOUT_MS = 15 * 60_000

/**
 * Runs `fn` in a transaction holding the resource's row lock, or returns 'busy' when another worker holds it
 * (that worker finishes the work) and 'missing' when there is no such resource. A crashed worker's lock goes
 * with its connection, so a retry can always take over.
 */
export async function withResourceLock<T>(
  ctx: ResourceContext,
  resourceId: string,
  fn: (tx: Tx, row: LockedResource) => Promise<T>,
): Promise<T | 'busy' | 'missing'> {
  return ctx.db.$transaction(
    async (tx) => {
      const locked = await tx.$queryRaw<{ id: string }[]>`SELECT id FROM resources WHERE id = ${resourceId}::uuid FOR UPDATE SKIP LOCKED`
      if (!locked.length) {
        const exists = await tx.resource.count({ where: { id: resourceId } })
        return exists ? 'busy' : 'missing'
      }
      const row = await tx.resource.findUniqueOrThrow({
        where: { id: resourceId },
        include: { cluster: true, instance: { select: { id: true, slug: true, blueprint: true, organizationId: true } } },
      })
      return fn(tx, row)
    },
    { timeout: STEP_TIMEOUT_MS, maxWait: 30_000 },
  )
}

/** Stored names, checked: a row edited by hand into something else fails here, before any provisioner call. */
export const ZResourceNames = z
  .object({
    username: z.string().min(1).optional(),
    databases: z.record(z.string(), z.string().min(1)).optional(),
    vhost: z.string().min(1).optional(),
    bucket: z.string().min(1).optional(),
  })
  .strict() satisfies z.ZodType<ResourceNames>

export const namesOf = (row: Pick<Resource, 'names'>): ResourceNames => ZResourceNames.parse(row.names)

/** What the provisioner gets for a resource; `password` overrides the stored one (a rotation's new password). */
export function resourceSpec(ctx: ResourceContext, row: LockedResource, password?: string): ResourceSpec {
  const hostnames = getBlueprint(row.instance.blueprint).hostnames(row.instance, ctx.config.hostingZone)
  return {
    resourceId: row.id,
    instanceSlug: row.instance.slug,
    names: namesOf(row),
    password: password ?? ctx.box.decrypt(row.password),
    corsOrigins: hostnames.map((h) => `https://${h.hostname}`),
  }
}

export function storedCredentials(
  ctx: ResourceContext,
  row: Pick<Resource, 'credentials'>,
): ResourceCredentialsOf<ResourceKind> | undefined {
  return row.credentials ? openJson<ResourceCredentialsOf<ResourceKind>>(ctx.box, row.credentials) : undefined
}
