import { z } from 'zod'
import { RESOURCE_KINDS } from '@/provisioners/types'

export const ZResourceKind = z.enum(RESOURCE_KINDS).describe('mysql | mongodb | rabbitmq | s3')
export const ZResourceState = z.enum(['provisioning', 'ready', 'failed', 'retained', 'destroying', 'destroyed'])

export const ZResource = z
  .object({
    id: z.uuid(),
    instanceId: z.uuid(),
    kind: ZResourceKind,
    state: ZResourceState,
    cluster: z.object({ id: z.uuid(), name: z.string() }).nullable().describe('Staff only (null for clients).'),
    names: z
      .object({
        username: z.string().optional(),
        databases: z.record(z.string(), z.string()).optional(),
        vhost: z.string().optional(),
        bucket: z.string().optional(),
      })
      .nullable()
      .describe('What the resource is called on its cluster. Staff only (null for clients).'),
    lastError: z.string().nullable().describe('Staff only (null for clients).'),
    attempts: z.number().int().describe('Failed attempts since the last success.'),
    nextAttemptAt: z.iso.datetime().nullable(),
    rotationPending: z.boolean().describe('A credential rotation was asked for and has not finished.'),
    sharedCredentials: z.boolean().describe('S3 without IAM: the instance uses the cluster’s own credentials.'),
    readyAt: z.iso.datetime().nullable(),
    rotatedAt: z.iso.datetime().nullable(),
    destroyedAt: z.iso.datetime().nullable(),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .meta({ id: 'Resource' })
export type TResource = z.infer<typeof ZResource>

export const ZInstanceExport = z
  .object({
    id: z.uuid(),
    state: z.enum(['running', 'succeeded', 'failed']),
    location: z.string(),
    databases: z.array(z.string()),
    bytes: z.number().int().nullable(),
    sha256: z.string().nullable(),
    error: z.string().nullable(),
    createdAt: z.iso.datetime(),
    finishedAt: z.iso.datetime().nullable(),
  })
  .meta({ id: 'InstanceExport' })

export const ZInstanceResources = z
  .object({
    instanceId: z.uuid(),
    status: z.enum(['new', 'archived']),
    resources: z.array(ZResource).describe('Live resources, then destroyed ones (newest first).'),
    notConfigured: z
      .array(ZResourceKind)
      .describe('Kinds the blueprint uses that have no resource because no cluster of that kind accepts instances.'),
    missing: z
      .array(ZResourceKind)
      .describe('Kinds the blueprint uses that have no live resource although a cluster exists (staff can provision them).'),
    purgeAfter: z.iso.datetime().nullable().describe('Archived: the resources are destroyed after this, unless the instance is restored.'),
    purgedAt: z.iso.datetime().nullable(),
    exports: z.array(ZInstanceExport).describe('Final exports of the MySQL databases (staff only; empty for clients).'),
  })
  .meta({ id: 'InstanceResources' })
export type TInstanceResources = z.infer<typeof ZInstanceResources>

export const ZResourceCredentials = z
  .object({ resourceId: z.uuid(), kind: ZResourceKind, credentials: z.record(z.string(), z.unknown()) })
  .meta({ id: 'ResourceCredentials' })

export const ZPurgeInstanceQuery = z.object({ confirm: z.string().describe("The instance's slug, typed again.") })
