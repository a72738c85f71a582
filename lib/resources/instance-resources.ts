import type { InstanceResources } from '@/lib/blueprints'
import type { Prisma } from '@/lib/db/generated/client'
import type { ResourceKind, ResourceState } from '@/lib/db/generated/enums'
import { conflict } from '@/lib/errors'
import { openJson, type SecretBox } from '@/lib/secrets'

type Tx = Prisma.TransactionClient

/**
 * The instance's ready resources with their credentials, as a blueprint's render takes them. A resource that
 * exists but is not ready refuses the deploy: an appserver started without it would write its data to a local
 * fallback that dies with the appserver. Kinds with no resource at all (no cluster configured) are left out, and
 * the render records their local fallbacks.
 */
export async function resourcesForRender(tx: Tx, box: SecretBox, instanceId: string): Promise<InstanceResources> {
  const rows = await tx.resource.findMany({ where: { instanceId, state: { not: 'destroyed' } }, orderBy: { kind: 'asc' } })
  const notReady = rows.filter((r) => r.state !== 'ready' || !r.credentials)
  if (notReady.length) {
    throw conflict(
      `The instance's resources are not ready (${notReady.map((r) => `${label(r.kind)} ${describe(r.state)}`).join(', ')}); ` +
        'wait for them or retry them on its Resources tab',
    )
  }
  const resources: InstanceResources = {}
  for (const r of rows) if (r.credentials) Object.assign(resources, { [r.kind]: openJson(box, r.credentials) })
  return resources
}

const LABELS: Record<ResourceKind, string> = { mysql: 'MySQL', mongodb: 'MongoDB', rabbitmq: 'RabbitMQ', s3: 'S3' }
const label = (kind: ResourceKind) => LABELS[kind]
const describe = (state: ResourceState) => (state === 'retained' ? 'retained (archived)' : state)
