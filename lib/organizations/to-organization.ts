import type { Organization } from '@/lib/db/generated/client'
import type { TOrganization } from './schemas'

export const ORGANIZATION_COUNTS = { _count: { select: { instances: true, memberships: true } } } as const

export function toOrganization(row: Organization & { _count: { instances: number; memberships: number } }): TOrganization {
  return {
    id: row.id,
    slug: row.slug,
    name: row.name,
    instanceCount: row._count.instances,
    memberCount: row._count.memberships,
    createdAt: row.createdAt.toISOString(),
  }
}
