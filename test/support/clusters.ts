import { systemActor } from '@/lib/auth/actor'
import { createCluster, type ClusterContext } from '@/lib/clusters/create-cluster'
import type { MongodbDouble } from '@/test/fakes/mongodb/server'
import type { MariadbAdmin } from './mariadb-admin'
import { S3RVER_CREDENTIALS, type RunningS3rver } from './s3rver'
import { MARIADB, RABBITMQ } from './services'

/**
 * Registers a cluster of each kind on this machine's services, as staff would (each connection tested): the real
 * MariaDB (one cluster per name in `mysqlNames`, all on the same server), the real RabbitMQ, s3rver (no IAM, no
 * lifecycle rules) and the MongoDB double. Used by the resource tests and the provisioning benchmark.
 */
export async function registerLocalClusters(
  ctx: ClusterContext,
  services: { admin: MariadbAdmin; s3: RunningS3rver; mongo: MongodbDouble; mongoPassword: string; mysqlNames?: string[] },
): Promise<void> {
  const staff = systemActor('tests')
  const common = { acceptsNew: true, testConnection: true }
  for (const name of services.mysqlNames ?? ['mariadb']) {
    await createCluster(ctx, staff, {
      kind: 'mysql',
      name,
      ...common,
      connection: {
        host: MARIADB.host,
        port: MARIADB.port,
        username: services.admin.username,
        password: services.admin.password,
        tls: false,
        userHost: '%',
      },
    })
  }
  await createCluster(ctx, staff, { kind: 'rabbitmq', name: 'rabbitmq', ...common, connection: { ...RABBITMQ, tls: false } })
  await createCluster(ctx, staff, {
    kind: 's3',
    name: 's3rver',
    ...common,
    connection: {
      endpoint: services.s3.endpoint,
      region: 'us-east-1',
      ...S3RVER_CREDENTIALS,
      pathStyle: true,
      iam: false,
      lifecycle: false,
      trackingLogsRetentionDays: 90,
    },
  })
  await createCluster(ctx, staff, {
    kind: 'mongodb',
    name: 'mongodb-double',
    ...common,
    connection: { hosts: services.mongo.address, username: 'root', password: services.mongoPassword, authSource: 'admin', tls: false },
  })
}
