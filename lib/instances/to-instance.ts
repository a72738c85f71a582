import type { Instance, Organization } from '@/lib/db/generated/client'
import type { TInstance } from './schemas'

export const INSTANCE_INCLUDE = { organization: { select: { id: true, slug: true, name: true } } } as const

export type InstanceRow = Instance & { organization: Pick<Organization, 'id' | 'slug' | 'name'> }

export function instanceHostname(slug: string, hostingZone: string): string {
  return `${slug}.${hostingZone}`
}

export function toInstance(row: InstanceRow, hostingZone: string): TInstance {
  return {
    id: row.id,
    organization: row.organization,
    name: row.name,
    slug: row.slug,
    hostname: instanceHostname(row.slug, hostingZone),
    blueprint: row.blueprint,
    settings: row.settings as Record<string, unknown>,
    extraSettings: row.extraSettings,
    status: row.status,
    appserverCount: row.appserverCount,
    version: row.version,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    archivedAt: row.archivedAt?.toISOString() ?? null,
    purgeAfter: row.purgeAfter?.toISOString() ?? null,
    purgedAt: row.purgedAt?.toISOString() ?? null,
  }
}

/** The fields of an instance the audit log compares. */
export function auditableInstance(row: Instance): Record<string, unknown> {
  return {
    name: row.name,
    slug: row.slug,
    blueprint: row.blueprint,
    settings: row.settings,
    extraSettings: row.extraSettings,
    status: row.status,
    appserverCount: row.appserverCount,
  }
}
