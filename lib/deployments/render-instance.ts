import { randomBytes } from 'node:crypto'
import { parse as parseYaml } from 'yaml'
import { getBlueprint, type InstanceResources, type RenderedConfiguration } from '@/lib/blueprints'
import type { Prisma } from '@/lib/db/generated/client'
import type { Instance } from '@/lib/db/generated/client'
import { openJson, sealJson, type SecretBox } from '@/lib/secrets'

type Tx = Prisma.TransactionClient

/** Renders what a deployment of `instance` would run now (pure apart from its inputs). */
export function renderInstance(
  instance: Instance,
  secrets: Record<string, string>,
  hostingZone: string,
  resources: InstanceResources,
  customHostnames: readonly string[] = [],
): RenderedConfiguration {
  const extra: unknown = instance.extraSettings.trim() ? parseYaml(instance.extraSettings) : {}
  return getBlueprint(instance.blueprint).renderConfiguration({
    instance: { id: instance.id, slug: instance.slug, name: instance.name },
    settings: instance.settings as Record<string, unknown>,
    extraSettings: extra && typeof extra === 'object' && !Array.isArray(extra) ? (extra as Record<string, unknown>) : {},
    hostingZone,
    secrets,
    resources,
    customHostnames,
  })
}

/** The client's verified custom hostnames of an instance (aliases of its main site). */
export async function verifiedHostnames(db: Pick<Tx, 'domain'>, instanceId: string): Promise<string[]> {
  const rows = await db.domain.findMany({
    where: { instanceId, state: 'verified' },
    select: { hostname: true },
    orderBy: { hostname: 'asc' },
  })
  return rows.map((r) => r.hostname)
}

/** The instance's secrets, decrypted (empty before its first deployment). */
export function instanceSecrets(box: SecretBox, instance: Pick<Instance, 'secrets'>): Record<string, string> {
  return instance.secrets ? openJson<Record<string, string>>(box, instance.secrets) : {}
}

/**
 * The instance's secrets with any the blueprint newly needs generated (CSPRNG) and stored, encrypted.
 * The caller holds the instance's row lock, so two first deployments cannot generate two sets.
 */
export async function ensureInstanceSecrets(tx: Tx, box: SecretBox, instance: Instance): Promise<Record<string, string>> {
  const existing = instanceSecrets(box, instance)
  const complete = getBlueprint(instance.blueprint).generateMissingSecrets(existing, randomBytes)
  if (Object.entries(complete).some(([name, value]) => existing[name] !== value)) {
    await tx.instance.update({ where: { id: instance.id }, data: { secrets: sealJson(box, complete) } })
  }
  return complete
}
