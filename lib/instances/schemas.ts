import { z } from 'zod'
import { BLUEPRINT_IDS } from '@/lib/blueprints'
import { OPENEDX_RELEASES } from '@/lib/blueprints/openedx'
import { ZOrganizationRef } from '@/lib/organizations/schemas'

export const INSTANCE_STATUSES = ['new', 'archived'] as const

export const ZBlueprintId = z.enum(BLUEPRINT_IDS as [string, ...string[]]).describe('What kind of platform the instance runs.')
export const ZInstanceStatus = z.enum(INSTANCE_STATUSES)

export const ZInstance = z
  .object({
    id: z.uuid(),
    organization: ZOrganizationRef,
    name: z.string(),
    slug: z.string().describe('DNS label; the instance is served at <slug>.<hosting zone>.'),
    hostname: z.string().describe("The instance's base hostname."),
    blueprint: ZBlueprintId,
    settings: z.record(z.string(), z.unknown()).describe("Validated by the blueprint's settings schema."),
    extraSettings: z.string().describe('Free-form YAML mapping, as written.'),
    status: ZInstanceStatus,
    appserverCount: z.number().int().describe('Appservers per deployment (for load).'),
    version: z.number().int().describe('Increases with every change; send it back when updating.'),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
    archivedAt: z.iso.datetime().nullable(),
    purgeAfter: z.iso
      .datetime()
      .nullable()
      .describe(
        'Archived: its databases, vhost and bucket are destroyed after this unless it is restored (set once the final export is taken).',
      ),
    purgedAt: z.iso.datetime().nullable().describe('Archived: when its data was destroyed (no restore after this).'),
  })
  .meta({ id: 'Instance' })
export type TInstance = z.infer<typeof ZInstance>

const ZAppserverCount = z
  .number()
  .int()
  .min(1, 'must be at least 1')
  .max(20, 'must be at most 20')
  .describe('Appservers per deployment, for load; applies from the next deployment.')

const ZName = z.string().trim().min(1, 'is required').max(100, 'must be at most 100 characters')

export const ZCreateInstanceRequest = z
  .object({
    organizationId: z.uuid('must be an organization id').describe('Organization the instance belongs to.'),
    name: ZName.describe('Human name of the instance.'),
    slug: z.string().optional().describe('DNS label; derived from the name when omitted.'),
    blueprint: ZBlueprintId.default('openedx'),
    settings: z.record(z.string(), z.unknown()).default({}).describe('Blueprint settings; defaults fill what is missing.'),
    extraSettings: z.string().default('').describe('Free-form YAML mapping.'),
    appserverCount: ZAppserverCount.default(1),
  })
  .strict()
  .meta({ id: 'CreateInstanceRequest' })
export type TCreateInstanceRequest = z.infer<typeof ZCreateInstanceRequest>

export const ZUpdateInstanceRequest = z
  .object({
    version: z.number().int().positive().describe('The version you read; a stale version gets 409 with the current instance.'),
    name: ZName.optional(),
    settings: z.record(z.string(), z.unknown()).optional().describe('Merged into the current settings, then validated.'),
    extraSettings: z.string().optional(),
    appserverCount: ZAppserverCount.optional(),
  })
  .strict()
  .meta({ id: 'UpdateInstanceRequest' })
export type TUpdateInstanceRequest = z.infer<typeof ZUpdateInstanceRequest>

export const ZListInstancesQuery = z.object({
  q: z.string().trim().max(100).optional().describe('Search in name and slug.'),
  organizationId: z.uuid('must be an organization id').optional(),
  status: ZInstanceStatus.optional(),
  blueprint: ZBlueprintId.optional(),
  cursor: z.string().max(200).optional().describe('nextCursor of the previous page.'),
  limit: z.coerce.number().int().min(1).max(100).default(50),
})
export type TListInstancesQuery = z.infer<typeof ZListInstancesQuery>

export const ZInstancePage = z.object({ items: z.array(ZInstance), nextCursor: z.string().nullable() }).meta({ id: 'InstancePage' })

export const ZArchiveInstanceQuery = z.object({
  confirm: z.string().describe('The instance slug, typed again to confirm.'),
})

export const RELEASES = OPENEDX_RELEASES
