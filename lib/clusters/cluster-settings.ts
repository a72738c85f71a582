import { z } from 'zod'
import type {
  MongodbClusterConnection,
  MysqlClusterConnection,
  RabbitmqClusterConnection,
  ResourceKind,
  S3ClusterConnection,
} from '@/provisioners/types'
import type { ResourceClusterSettings } from '@/provisioners/resources'

/**
 * How staff describe a shared cluster, by kind (a discriminated union on `kind`, the same literal as the
 * database enum and the provisioner registry). Each kind's secret fields are listed in SECRET_FIELDS: they
 * are stored encrypted, apart from the other settings, and never returned.
 */

const host = z
  .string()
  .trim()
  .min(1, 'is required')
  .max(253)
  .regex(/^[A-Za-z0-9.-]+$|^\[[0-9a-fA-F:]+\]$/, 'must be a hostname or an IP address')
const port = (fallback: number) => z.coerce.number().int().min(1, 'must be 1-65535').max(65535, 'must be 1-65535').default(fallback)
const username = z.string().trim().min(1, 'is required').max(128)
const secret = z.string().min(1, 'is required').max(1024)
const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).transform((u) => u.replace(/\/+$/, ''))

export const ZMysqlConnection = z.object({
  host: host.describe('MySQL/MariaDB server (the appservers connect to the same address)'),
  port: port(3306),
  username: username.describe('An administrator with CREATE USER and GRANT OPTION'),
  password: secret.describe('Password of the administrator (write-only)'),
  tls: z.boolean().default(false).describe('Connect with TLS'),
  userHost: z
    .string()
    .trim()
    .min(1)
    .max(255)
    .regex(/^[A-Za-z0-9.%_:-]+$/, 'must be a MySQL host pattern such as % or 10.0.%')
    .default('%')
    .describe("Host part of the instances' users: narrow it to the appservers' network"),
}) satisfies z.ZodType<MysqlClusterConnection, unknown>

export const ZMongodbConnection = z.object({
  hosts: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9.-]+(:\d{1,5})?(,[A-Za-z0-9.-]+(:\d{1,5})?)*$/, 'must be host:port, or a comma-separated seed list')
    .describe('host:port, or the seed list of a replica set'),
  username: username.describe('A user with userAdminAnyDatabase and dropDatabase rights'),
  password: secret.describe('Password of that user (write-only)'),
  authSource: z.string().trim().min(1).max(63).default('admin').describe('Database the users are defined in'),
  replicaSet: z.string().trim().min(1).max(128).optional().describe('Replica set name'),
  tls: z.boolean().default(false),
}) satisfies z.ZodType<MongodbClusterConnection, unknown>

export const ZRabbitmqConnection = z.object({
  managementUrl: httpUrl.describe('Management HTTP API, e.g. https://rabbit.example.com:15671'),
  amqpHost: host.describe('AMQP host the appservers connect to'),
  amqpPort: port(5672),
  username: username.describe('A management user with the administrator tag'),
  password: secret.describe('Password of that user (write-only)'),
  tls: z.boolean().default(false).describe('Appservers connect with amqps'),
}) satisfies z.ZodType<RabbitmqClusterConnection, unknown>

export const ZS3Connection = z.object({
  endpoint: httpUrl.optional().describe('S3-compatible service URL; leave out for AWS S3'),
  region: z
    .string()
    .trim()
    .regex(/^[a-z0-9-]{2,32}$/, 'must be a region name such as eu-west-1')
    .default('us-east-1'),
  accessKeyId: z.string().trim().min(1, 'is required').max(128),
  secretAccessKey: secret.describe('Secret access key (write-only)'),
  pathStyle: z.boolean().default(false).describe('Address buckets in the path (most S3-compatible services)'),
  iam: z.boolean().default(false).describe('Create an IAM user limited to the bucket per instance (AWS)'),
  iamEndpoint: httpUrl.optional().describe('IAM API address when not AWS'),
  lifecycle: z.boolean().default(true).describe('The service supports bucket lifecycle rules'),
  trackingLogsRetentionDays: z.coerce.number().int().min(1).max(3650).default(90).describe('Tracking logs expire after this many days'),
}) satisfies z.ZodType<S3ClusterConnection, unknown>

export const CONNECTION_SCHEMAS = {
  mysql: ZMysqlConnection,
  mongodb: ZMongodbConnection,
  rabbitmq: ZRabbitmqConnection,
  s3: ZS3Connection,
} as const satisfies Record<ResourceKind, z.ZodType>

/** A cluster's kind with its connection: what the provisioner registry takes (one type for both sides). */
export type ClusterConnection = ResourceClusterSettings

/** Fields stored encrypted and never returned. */
export const SECRET_FIELDS: Record<ResourceKind, readonly string[]> = {
  mysql: ['password'],
  mongodb: ['password'],
  rabbitmq: ['password'],
  s3: ['secretAccessKey'],
}

/** Splits a parsed connection into what is stored as JSON and what is encrypted. */
export function splitSecrets(kind: ResourceKind, connection: object) {
  const settings: Record<string, unknown> = {}
  const secrets: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(connection)) {
    if (SECRET_FIELDS[kind].includes(key)) secrets[key] = value
    else settings[key] = value
  }
  return { settings, secrets }
}

export type ParsedConnection = { ok: true; cluster: ClusterConnection } | { ok: false; issues: z.core.$ZodIssue[] }

/** Checks a connection against its kind's schema, keeping the kind and the parsed connection together. */
export function parseConnection(kind: ResourceKind, value: unknown): ParsedConnection {
  switch (kind) {
    case 'mysql': {
      const r = ZMysqlConnection.safeParse(value)
      return r.success ? { ok: true, cluster: { kind, connection: r.data } } : { ok: false, issues: r.error.issues }
    }
    case 'mongodb': {
      const r = ZMongodbConnection.safeParse(value)
      return r.success ? { ok: true, cluster: { kind, connection: r.data } } : { ok: false, issues: r.error.issues }
    }
    case 'rabbitmq': {
      const r = ZRabbitmqConnection.safeParse(value)
      return r.success ? { ok: true, cluster: { kind, connection: r.data } } : { ok: false, issues: r.error.issues }
    }
    case 's3': {
      const r = ZS3Connection.safeParse(value)
      return r.success ? { ok: true, cluster: { kind, connection: r.data } } : { ok: false, issues: r.error.issues }
    }
  }
}
