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
  challengeEntries,
  challengesMapPath,
  checkedInstances,
  crtListLine,
  crtListLines,
  crtListPath,
  healthCheckTimings,
  hostsMapEntries,
  hostsMapPath,
  serverArguments,
  serverName,
  type CrtListLine,
  type RenderOptions,
} from './render'

/**
 * One runtime-API command: a line, or a line ending in `<<` followed by a payload (HAProxy reads it up to an empty
 * line). The payload of `set ssl cert` holds a private key, so the plan never carries it: `certificate` names the
 * certificate whose rendered file (RenderedHaproxy.certificates) haproxy.ts sends. Only `command` is ever logged.
 */
export type RuntimeCommand = string | { command: string; payload: string } | { command: string; certificate: string }

export type ApplyPlan = { kind: 'none' } | { kind: 'runtime'; commands: RuntimeCommand[] } | { kind: 'reload'; reason: string }

export type PlanOptions = Pick<RenderOptions, 'configDir' | 'healthCheck' | 'httpsPort'>

/** The command line of a runtime command, without its payload: what errors and logs may show. */
export const commandLine = (command: RuntimeCommand) => (typeof command === 'string' ? command : command.command)

/**
 * The certificate HAProxy took as its default when it last loaded the files: the first line of the crt-list. The
 * runtime API refuses to delete it ("used as default certificate"), so the agent remembers it across runtime changes.
 */
export function loadedDefaultCertificate(state: RoutingState, options: Pick<RenderOptions, 'configDir'>): string | undefined {
  return crtListLines(checkedInstances(state), state.certificates, options.configDir)[0]?.id
}

/**
 * Commands come in an order that never leaves a hostname without a server to answer it: certificates installed or
 * renewed first (a certificate is committed before its crt-list line refers to it), challenge answers added, new
 * servers, then servers becoming active, then map entries added or changed (so a hostname only points at a backend
 * once its servers take requests), then servers starting to drain, then map entries removed, the servers no longer
 * wanted at all (the control plane drops a server only after it drained), and last certificates and challenge answers
 * no longer wanted.
 *
 * `defaultCertificate`: the certificate HAProxy loaded as its default (loadedDefaultCertificate of the state it last
 * reloaded with); by default the first of `applied`, as if it had been loaded by a reload.
 */
export function planChanges(
  applied: RoutingState | undefined,
  next: RoutingState,
  options: PlanOptions,
  defaultCertificate?: string,
): ApplyPlan {
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

  const appliedLines = crtListLines(appliedInstances, applied.certificates, options.configDir)
  const certificates = certificateCommands(
    appliedLines,
    crtListLines(nextInstances, next.certificates, options.configDir),
    options,
    defaultCertificate ?? appliedLines[0]?.id,
  )
  if ('reload' in certificates) return { kind: 'reload', reason: certificates.reload }

  const challengeMap = challengesMapPath(options)
  const oldChallenges = new Map(challengeEntries(applied.challenges))
  const newChallenges = challengeEntries(next.challenges)
  const challengeSets: string[] = []
  for (const [key, value] of newChallenges) {
    const was = oldChallenges.get(key)
    if (was === undefined) challengeSets.push(`add map ${challengeMap} ${key} ${value}`)
    else if (was !== value) challengeSets.push(`set map ${challengeMap} ${key} ${value}`)
  }
  const stillServed = new Set(newChallenges.map(([key]) => key))
  const challengeDeletions = [...oldChallenges.keys()].filter((key) => !stillServed.has(key)).map((key) => `del map ${challengeMap} ${key}`)

  const commands: RuntimeCommand[] = [
    ...certificates.installs,
    ...challengeSets,
    ...adds,
    ...activations,
    ...mapSets,
    ...drains,
    ...mapDeletions,
    ...removals,
    ...certificates.removals,
    ...challengeDeletions,
  ]
  return commands.length ? { kind: 'runtime', commands } : { kind: 'none' }
}

/**
 * The crt-list's changes. A new certificate is created, filled and committed, then its line added; a renewal (same id,
 * other content) is a new transaction on the same certificate, committed at once: handshakes switch to it without a
 * reload. A line whose SNI filters change would have to be deleted and added again, leaving a moment where its names
 * get the default certificate, so that reloads; so do the first certificate (the HTTPS frontend does not exist yet),
 * the last one going, and removing the default certificate (HAProxy refuses that at run time).
 */
function certificateCommands(
  applied: CrtListLine[],
  next: CrtListLine[],
  options: PlanOptions,
  defaultCertificate: string | undefined,
): { reload: string } | { installs: RuntimeCommand[]; removals: RuntimeCommand[] } {
  // Without an HTTPS port there is no frontend reading the crt-list: the files are all there is to change.
  if (!options.httpsPort) return { installs: [], removals: [] }
  if (!applied.length && next.length) return { reload: `the first certificate (${next[0]?.id}): the HTTPS frontend starts` }
  if (applied.length && !next.length) return { reload: 'no certificate is used any more: the HTTPS frontend stops' }
  const crtList = crtListPath(options)
  const before = new Map(applied.map((line) => [line.id, line]))
  const after = new Set(next.map((line) => line.id))
  const installs: RuntimeCommand[] = []
  const renewals: RuntimeCommand[] = []
  for (const line of next) {
    const was = before.get(line.id)
    const fill = [{ command: `set ssl cert ${line.file}`, certificate: line.id }, `commit ssl cert ${line.file}`]
    if (!was) {
      installs.push(`new ssl cert ${line.file}`, ...fill, { command: `add ssl crt-list ${crtList}`, payload: crtListLine(line) })
      continue
    }
    if (was.filters.join(' ') !== line.filters.join(' '))
      return { reload: `the hostnames certificate ${line.id} serves (its SNI filters) changed` }
    if (was.certificate.fingerprint !== line.certificate.fingerprint || was.certificate.certificate !== line.certificate.certificate)
      renewals.push(...fill)
  }
  const removals: RuntimeCommand[] = []
  for (const line of applied) {
    if (after.has(line.id)) continue
    if (line.id === defaultCertificate)
      return { reload: `certificate ${line.id} is no longer used and is HAProxy's default certificate, which only a reload replaces` }
    removals.push(`del ssl crt-list ${crtList} ${line.file}`, `del ssl cert ${line.file}`)
  }
  return { installs: [...installs, ...renewals], removals }
}

function sameAddress(a: RoutedBackend, b: RoutedBackend): boolean {
  return a.host.toLowerCase() === b.host.toLowerCase() && a.port === b.port
}

function list(ids: string[]): string {
  return ids.length > 5 ? `${ids.slice(0, 5).join(', ')} and ${ids.length - 5} more` : ids.join(', ')
}
