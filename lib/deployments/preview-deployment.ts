import { randomBytes } from 'node:crypto'
import type { Actor } from '@/lib/auth/actor'
import { assertStaff } from '@/lib/auth/policy'
import { getBlueprint } from '@/lib/blueprints'
import { diffConfigurations, maskConfiguration } from '@/lib/blueprints/configuration-diff'
import { findReadableInstance } from '@/lib/instances/get-instance'
import { openJson } from '@/lib/secrets'
import { joinSecrets } from './frozen-configuration'
import type { Orchestrator } from './orchestrator'
import { resourcesForRender } from '@/lib/resources/instance-resources'
import { instanceSecrets, verifiedHostnames, renderInstance } from './render-instance'

/**
 * What a redeploy would change: the active deployment's frozen configuration against the one a new
 * deployment would freeze now, secrets masked (a changed secret shows as changed, never its value).
 */
export async function previewDeployment(o: Pick<Orchestrator, 'db' | 'config' | 'box'>, actor: Actor, instanceId: string) {
  // Tenancy first: another organization's instance is not found, not forbidden.
  const instance = await findReadableInstance(o.db, actor, instanceId)
  assertStaff(actor)
  // Secrets the first deployment would generate are generated here too, for the shape only (masked, not stored).
  const secrets = getBlueprint(instance.blueprint).generateMissingSecrets(instanceSecrets(o.box, instance), randomBytes)
  const resources = await o.db.$transaction((tx) => resourcesForRender(tx, o.box, instance.id))
  const next = renderInstance(instance, secrets, o.config.hostingZone, resources, await verifiedHostnames(o.db, instance.id))
  const active = await o.db.deployment.findFirst({ where: { instanceId: instance.id, status: 'active' } })
  const before = active
    ? joinSecrets(active.configuration as Record<string, unknown>, openJson<Record<string, unknown>>(o.box, active.configurationSecrets))
    : null
  const secretKeys = [...new Set([...next.secretKeys, ...(active?.secretKeys ?? [])])]
  return {
    activeDeployment: active?.number ?? null,
    changes: diffConfigurations(before, next.variables, secretKeys),
    configuration: maskConfiguration(next.variables, next.secretKeys),
  }
}
