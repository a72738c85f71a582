import { createMongodbProvisioner } from './mongodb'
import { createMysqlProvisioner } from './mysql'
import { createRabbitmqProvisioner } from './rabbitmq'
import { createS3Provisioner } from './s3'
import type {
  MongodbClusterConnection,
  MysqlClusterConnection,
  RabbitmqClusterConnection,
  ResourceProvisioner,
  S3ClusterConnection,
} from './types'

/** A cluster's kind and connection, keyed by the same literal as the database enum and the provisioner's `kind`. */
export type ResourceClusterSettings =
  | { kind: 'mysql'; connection: MysqlClusterConnection }
  | { kind: 'mongodb'; connection: MongodbClusterConnection }
  | { kind: 'rabbitmq'; connection: RabbitmqClusterConnection }
  | { kind: 's3'; connection: S3ClusterConnection }

export interface ResourceProvisionerOptions {
  ownerTag: string
  timeoutMs?: number
}

/** The one registry of resource provisioners. */
export function createResourceProvisioner(cluster: ResourceClusterSettings, options: ResourceProvisionerOptions): ResourceProvisioner {
  switch (cluster.kind) {
    case 'mysql':
      return createMysqlProvisioner(cluster.connection, options)
    case 'mongodb':
      return createMongodbProvisioner(cluster.connection, options)
    case 'rabbitmq':
      return createRabbitmqProvisioner(cluster.connection, options)
    case 's3':
      return createS3Provisioner(cluster.connection, options)
  }
}
