/**
 * What it takes to go from the routing state HAProxy runs to the next one (pure): nothing, a list of runtime-API
 * commands, or a reload. The files are always rewritten first (haproxy.ts), so whatever the commands change in
 * memory is also what the next reload loads.
 */
import { isIP } from 'node:net'
import type { RoutedBackend, RoutingState } from '@/provisioners/consul/layout'
import {
  ACTIVE_WEIGHT,
  backendName,
  backendSettings,
  checkedInstances,
  healthCheckTimings,
  hostsMapEntries,
  hostsMapPath,
  serverArguments,
  serverName,
  type RenderOptions,
} from './render'

export type ApplyPlan = { kind: 'none' } | { kind: 'runtime'; commands: string[] } | { kind: 'reload'; reason: string }

export type PlanOptions = Pick<RenderOptions, 'configDir' | 'healthCheck'>

/**
 * Commands come in an order that never leaves a hostname without a server to answer it: new servers first, then
 * servers becoming active, then map entries added or changed (so a hostname only points at a backend once its servers
 * take requests), then servers starting to drain, then map entries removed, and last the servers no longer wanted at
 * all (the control plane drops a server only after it drained).
 */
export function planChanges(applied: RoutingState | undefined, next: RoutingState, options: PlanOptions): ApplyPlan {
  const nextInstances = checkedInstances(next)
  if (!applied) return { kind: 'reload', reason: 'nothing applied yet' }
  const appliedInstances = checkedInstances(applied)
  const before = new Map(appliedInstances.map((i) => [i.instanceId, i]))
  const after = new Map(nextInstances.map((i) => [i.instanceId, i]))
  const added = nextInstances.filter((i) => !before.has(i.instanceId)).map((i) => i.instanceId)
  const removed = appliedInstances.filter((i) => !after.has(i.instanceId)).map((i) => i.instanceId)
  if (added.length || removed.length) {
    const parts = [added.length ? `instances added: ${list(added)}` : '', removed.length ? `instances removed: ${list(removed)}` : '']
    return { kind: 'reload', reason: parts.filter(Boolean).join('; ') }
  }

  const timings = healthCheckTimings(options)
  const adds: string[] = []
  const activations: string[] = []
  const drains: string[] = []
  const removals: string[] = []
  for (const instance of nextInstances) {
    const old = before.get(instance.instanceId)
    if (!old) continue
    const id = instance.instanceId
    if (backendSettings(old).join('\n') !== backendSettings(instance).join('\n'))
      return { kind: 'reload', reason: `the health check of instance ${id} changed` }
    // Certificates reach HAProxy through the crt-list, read on a reload ([domains-tls] adds the runtime path).
    if ([...old.certificates].sort().join(' ') !== [...instance.certificates].sort().join(' '))
      return { kind: 'reload', reason: `the certificates of instance ${id} changed` }
    const be = backendName(id)
    const oldServers = new Map(old.backends.map((b) => [b.appserverId, b]))
    const newServers = new Map(instance.backends.map((b) => [b.appserverId, b]))
    for (const backend of instance.backends) {
      const server = `${be}/${serverName(backend.appserverId)}`
      const was = oldServers.get(backend.appserverId)
      if (!was) {
        // A server added at run time is never resolved (init-addr none): only an IP address works without a reload.
        if (!isIP(backend.host))
          return { kind: 'reload', reason: `appserver ${backend.appserverId} of instance ${id} has a DNS name, resolved only on a reload` }
        adds.push(`add server ${server} ${serverArguments(backend, timings)}`, `enable health ${server}`, `enable server ${server}`)
        continue
      }
      if (!sameAddress(was, backend))
        return { kind: 'reload', reason: `the address of appserver ${backend.appserverId} of instance ${id} changed` }
      if (was.role === backend.role) continue
      // weight, not only the state: a server loaded from the files as draining has weight 0, and "ready" alone keeps it.
      if (backend.role === 'active') activations.push(`set server ${server} weight ${ACTIVE_WEIGHT}`, `set server ${server} state ready`)
      else drains.push(`set server ${server} state drain`)
    }
    for (const backend of old.backends) {
      if (newServers.has(backend.appserverId)) continue
      const server = `${be}/${serverName(backend.appserverId)}`
      removals.push(`set server ${server} state maint`, `shutdown sessions server ${server}`, `del server ${server}`)
    }
  }

  const mapFile = hostsMapPath(options)
  const oldMap = new Map(hostsMapEntries(appliedInstances))
  const newMap = hostsMapEntries(nextInstances)
  const mapSets: string[] = []
  for (const [hostname, target] of newMap) {
    const was = oldMap.get(hostname)
    if (was === undefined) mapSets.push(`add map ${mapFile} ${hostname} ${target}`)
    else if (was !== target) mapSets.push(`set map ${mapFile} ${hostname} ${target}`)
  }
  const stillMapped = new Set(newMap.map(([hostname]) => hostname))
  const mapDeletions = [...oldMap.keys()]
    .filter((hostname) => !stillMapped.has(hostname))
    .map((hostname) => `del map ${mapFile} ${hostname}`)

  const commands = [...adds, ...activations, ...mapSets, ...drains, ...mapDeletions, ...removals]
  return commands.length ? { kind: 'runtime', commands } : { kind: 'none' }
}

function sameAddress(a: RoutedBackend, b: RoutedBackend): boolean {
  return a.host.toLowerCase() === b.host.toLowerCase() && a.port === b.port
}

function list(ids: string[]): string {
  return ids.length > 5 ? `${ids.slice(0, 5).join(', ')} and ${ids.length - 5} more` : ids.join(', ')
}
