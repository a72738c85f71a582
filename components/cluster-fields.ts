import type { z } from 'zod'
import type { ZMongodbConnection, ZMysqlConnection, ZRabbitmqConnection, ZS3Connection } from '@/lib/clusters/cluster-settings'
import type { TCluster } from '@/lib/clusters/schemas'
import type { ResourceKind } from '@/provisioners/types'

/** How the Register/Edit cluster form shows one connection setting. */
export interface ConnectionField {
  key: string
  label: string
  input: 'text' | 'number' | 'secret' | 'boolean'
  hint?: string
  placeholder?: string
  /** may be left empty (the API then leaves it out) */
  optional?: boolean
}

type Spec = Omit<ConnectionField, 'key'>
// Every setting of the kind's schema must be described here: a new one added in lib/ fails the type check until it is.
type FieldsOf<S extends z.ZodType> = { [K in keyof z.input<S>]-?: Spec }

const MYSQL: FieldsOf<typeof ZMysqlConnection> = {
  host: { label: 'Host', input: 'text', placeholder: 'mysql.internal.example.com', hint: 'The appservers connect to the same address.' },
  port: { label: 'Port', input: 'number' },
  username: { label: 'Administrator user', input: 'text', hint: 'Needs CREATE USER and GRANT OPTION.' },
  password: { label: 'Administrator password', input: 'secret' },
  tls: { label: 'Connect with TLS', input: 'boolean', hint: 'The server certificate is verified against the system CAs.' },
  userHost: {
    label: 'Host part of instance users',
    input: 'text',
    hint: 'MySQL host pattern the instances’ users may connect from; narrow it to the appservers’ network (e.g. 10.0.%).',
  },
}

const MONGODB: FieldsOf<typeof ZMongodbConnection> = {
  hosts: {
    label: 'Hosts',
    input: 'text',
    placeholder: 'mongo-1:27017,mongo-2:27017',
    hint: 'host:port, or the seed list of a replica set.',
  },
  username: { label: 'Administrator user', input: 'text', hint: 'Needs userAdminAnyDatabase and the right to drop databases.' },
  password: { label: 'Administrator password', input: 'secret' },
  authSource: { label: 'Authentication database', input: 'text' },
  replicaSet: { label: 'Replica set', input: 'text', optional: true, hint: 'Leave empty for a single server.' },
  tls: { label: 'Connect with TLS', input: 'boolean' },
}

const RABBITMQ: FieldsOf<typeof ZRabbitmqConnection> = {
  managementUrl: {
    label: 'Management API URL',
    input: 'text',
    placeholder: 'https://rabbit.internal.example.com:15671',
    hint: 'Tenon creates vhosts and users through the management HTTP API.',
  },
  amqpHost: { label: 'AMQP host', input: 'text', hint: 'Where the appservers connect for their queues.' },
  amqpPort: { label: 'AMQP port', input: 'number' },
  username: { label: 'Management user', input: 'text', hint: 'Needs the administrator tag.' },
  password: { label: 'Management password', input: 'secret' },
  tls: { label: 'Appservers connect with amqps', input: 'boolean' },
}

const S3: FieldsOf<typeof ZS3Connection> = {
  endpoint: {
    label: 'Endpoint',
    input: 'text',
    optional: true,
    placeholder: 'https://s3.gra.io.cloud.ovh.net',
    hint: 'Leave empty for AWS S3.',
  },
  region: { label: 'Region', input: 'text' },
  accessKeyId: { label: 'Access key id', input: 'text' },
  secretAccessKey: { label: 'Secret access key', input: 'secret' },
  pathStyle: {
    label: 'Path-style addressing',
    input: 'boolean',
    hint: 'Buckets in the URL path instead of the host name; most S3-compatible services need it.',
  },
  iam: {
    label: 'IAM: one user per instance',
    input: 'boolean',
    hint: 'Each instance gets its own key limited to its bucket (AWS). Off: instances share this key.',
  },
  iamEndpoint: { label: 'IAM endpoint', input: 'text', optional: true, hint: 'Only for IAM on a service other than AWS.' },
  lifecycle: {
    label: 'Lifecycle rules',
    input: 'boolean',
    hint: 'The service supports bucket lifecycle rules, so tracking logs expire by themselves.',
  },
  trackingLogsRetentionDays: { label: 'Keep tracking logs (days)', input: 'number', hint: 'Needs lifecycle rules.' },
}

const list = (spec: Record<string, Spec>): ConnectionField[] => Object.entries(spec).map(([key, f]) => ({ key, ...f }))

export const CONNECTION_FIELDS: Record<ResourceKind, ConnectionField[]> = {
  mysql: list(MYSQL),
  mongodb: list(MONGODB),
  rabbitmq: list(RABBITMQ),
  s3: list(S3),
}

/** Each kind's defaults (port 3306, region us-east-1, …), read from lib/'s schemas by the page. */
export type ConnectionDefaults = Record<ResourceKind, Record<string, string | number | boolean>>

/** Where a cluster is, in one line: what an operator would type to reach it. */
export function clusterAddress(cluster: Pick<TCluster, 'kind' | 'connection'>): string {
  const c = cluster.connection
  const str = (key: string) => (typeof c[key] === 'string' || typeof c[key] === 'number' ? String(c[key]) : '')
  switch (cluster.kind) {
    case 'mysql':
      return `${str('host')}:${str('port')}`
    case 'mongodb':
      return str('hosts')
    case 'rabbitmq':
      return str('managementUrl')
    case 's3':
      return str('endpoint') || `AWS S3 (${str('region')})`
  }
}
