import type { ConnectionDefaults } from '@/components/cluster-fields'
import { CONNECTION_SCHEMAS } from '@/lib/clusters/cluster-settings'
import { RESOURCE_KINDS } from '@/provisioners/types'

/** The defaults the API fills in for each kind (read from its schemas, so the form shows exactly those). */
export function connectionDefaults(): ConnectionDefaults {
  const out: ConnectionDefaults = { mysql: {}, mongodb: {}, rabbitmq: {}, s3: {} }
  for (const kind of RESOURCE_KINDS) {
    for (const [key, field] of Object.entries(CONNECTION_SCHEMAS[kind].shape)) {
      const parsed = field.safeParse(undefined)
      if (!parsed.success) continue
      const value: unknown = parsed.data
      if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') out[kind][key] = value
    }
  }
  return out
}
