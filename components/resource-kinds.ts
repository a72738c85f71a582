import type { ResourceKind } from '@/provisioners/types'

/** The resource kinds in the order the console lists them (the provisioner registry's order). */
export const RESOURCE_KIND_ORDER: readonly ResourceKind[] = ['mysql', 'mongodb', 'rabbitmq', 's3']

export const RESOURCE_KIND_LABEL: Record<ResourceKind, string> = { mysql: 'MySQL', mongodb: 'MongoDB', rabbitmq: 'RabbitMQ', s3: 'S3' }

/** What an instance keeps on each kind, in the words of someone running a site. */
export const RESOURCE_KIND_PURPOSE: Record<ResourceKind, string> = {
  mysql: 'courses, users and grades',
  mongodb: 'course content and forum posts',
  rabbitmq: 'background task queues',
  s3: 'uploaded files and tracking logs',
}

/**
 * Where an instance gets a kind of resource when no cluster of it accepts instances: the blueprint's local
 * fallback on the appserver itself, whose data is lost when the appserver is replaced.
 */
export const LOCAL_FALLBACK_WARNING =
  'Instances without one use a local fallback on their appserver: whatever they keep there is lost when the appserver is replaced, at every deploy.'
