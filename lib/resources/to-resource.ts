import type { Actor } from '@/lib/auth/actor'
import { isStaff } from '@/lib/auth/policy'
import type { Cluster, Resource } from '@/lib/db/generated/client'
import type { TResource } from './schemas'
import { namesOf } from './resource-lock'

const iso = (d: Date | null) => d?.toISOString() ?? null

/** A resource as the API shows it: clients see its kind and state, never where it lives, its names or its errors. */
export function toResource(row: Resource & { cluster: Pick<Cluster, 'id' | 'name' | 'settings'> }, actor: Actor): TResource {
  const staff = isStaff(actor)
  const settings = row.cluster.settings as { iam?: boolean }
  return {
    id: row.id,
    instanceId: row.instanceId,
    kind: row.kind,
    state: row.state,
    cluster: staff ? { id: row.cluster.id, name: row.cluster.name } : null,
    names: staff ? namesOf(row) : null,
    lastError: staff ? row.lastError : null,
    attempts: row.attempts,
    nextAttemptAt: iso(row.nextAttemptAt),
    rotationPending: row.pendingPassword !== null,
    sharedCredentials: row.kind === 's3' && settings.iam !== true,
    readyAt: iso(row.readyAt),
    rotatedAt: iso(row.rotatedAt),
    destroyedAt: iso(row.destroyedAt),
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  }
}

export const RESOURCE_WITH_CLUSTER = { cluster: { select: { id: true, name: true, settings: true } } } as const
