import { z } from 'zod'
import { ZMongodbConnection, ZMysqlConnection, ZRabbitmqConnection, ZS3Connection } from './cluster-settings'

const ZClusterName = z
  .string()
  .trim()
  .min(1, 'is required')
  .max(63, 'must be at most 63 characters')
  .regex(/^[a-z0-9][a-z0-9-]*$/, 'must be lowercase letters, digits and dashes, starting with a letter or digit')
  .describe('Short name, unique per kind, e.g. "mysql-gra-1"')

const common = {
  name: ZClusterName,
  acceptsNew: z.boolean().default(true).describe('Place new instances here (least-loaded first)'),
  testConnection: z.boolean().default(true).describe('Refuse the settings unless a connection test succeeds'),
}

export const ZCreateClusterRequest = z
  .discriminatedUnion('kind', [
    z.object({ kind: z.literal('mysql'), ...common, connection: ZMysqlConnection }).strict(),
    z.object({ kind: z.literal('mongodb'), ...common, connection: ZMongodbConnection }).strict(),
    z.object({ kind: z.literal('rabbitmq'), ...common, connection: ZRabbitmqConnection }).strict(),
    z.object({ kind: z.literal('s3'), ...common, connection: ZS3Connection }).strict(),
  ])
  .meta({ id: 'CreateClusterRequest' })
export type TCreateClusterRequest = z.infer<typeof ZCreateClusterRequest>

export const ZUpdateClusterRequest = z
  .object({
    version: z.number().int().describe('The version you read (optimistic concurrency)'),
    name: ZClusterName.optional(),
    acceptsNew: z.boolean().optional(),
    connection: z
      .record(z.string(), z.unknown())
      .optional()
      .describe(
        "Fields to change, checked against the kind's connection schema; leave a secret out to keep the stored one; null clears an optional field",
      ),
    testConnection: z.boolean().default(true),
  })
  .strict()
  .meta({ id: 'UpdateClusterRequest' })
export type TUpdateClusterRequest = z.infer<typeof ZUpdateClusterRequest>

export const ZCluster = z
  .object({
    id: z.uuid(),
    kind: z.enum(['mysql', 'mongodb', 'rabbitmq', 's3']),
    name: z.string(),
    acceptsNew: z.boolean(),
    connection: z.record(z.string(), z.unknown()).describe('Connection settings without their secrets'),
    secretFields: z.array(z.string()).describe('Fields that are set but never returned'),
    load: z.number().int().describe('Live resources placed on this cluster'),
    lastTestedAt: z.iso.datetime().nullable(),
    lastTestError: z.string().nullable(),
    version: z.number().int(),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .meta({ id: 'Cluster' })
export type TCluster = z.infer<typeof ZCluster>

export const ZClusterTestResult = z
  .object({ ok: z.boolean(), error: z.string().nullable(), testedAt: z.iso.datetime() })
  .meta({ id: 'ClusterTestResult' })
