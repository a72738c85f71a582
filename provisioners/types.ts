/**
 * The interfaces between the domain (lib/) and the outside systems. One adapter per system implements
 * one of these; provisioners never import from lib/ except types and config.
 */

// ---------------------------------------------------------------------------------------------
// VM drivers: where an appserver runs (a local process, an OVH Public Cloud VM, a Nomad allocation).

export const VM_DRIVER_KINDS = ['local', 'ovh', 'nomad'] as const
export type VmDriverKind = (typeof VM_DRIVER_KINDS)[number]

/** Where the driver writes progress lines an operator reads on the appserver's page. Never pass secrets. */
export type LogSink = (line: string) => void

/** What a driver needs to bring up one appserver. */
export interface VmSpec {
  /** The appserver's id (a UUID). Everything the driver creates carries it, so `list()` can find it again. */
  appserverId: string
  /** The instance's slug, for human-readable names. */
  instanceSlug: string
  /**
   * The frozen configuration the appserver runs with, secrets included (the blueprint's render). The driver
   * hands it to the VM (config file, cloud-init, job spec) and must never log it.
   */
  configuration: Record<string, unknown>
  /** HTTP path the appserver answers its health check on, e.g. "/heartbeat". */
  healthPath: string
}

/**
 * A driver's handle on what it created for an appserver, persisted on the appserver record.
 * `secrets` (e.g. an SSH private key) are encrypted at rest by the caller before they are stored.
 */
export interface VmRef {
  /** The outside system's id (OVH instance id, Nomad job id, local process tag). */
  externalId: string
  /** Non-secret facts the driver wants back later (key ids, regions, allocation ids). JSON-serializable. */
  facts?: Record<string, string>
  /** Secret material the driver needs later (OVH: the SSH private key). JSON-serializable strings. */
  secrets?: Record<string, string>
}

export type VmPhase =
  /** still being created or booting: look again later */
  | 'pending'
  /** running and reachable at `address` */
  | 'running'
  /** the outside system gave up on it (error state, allocation failed for good): `detail` says why */
  | 'failed'
  /** it does not exist (deleted, never created, purged) */
  | 'gone'

export interface VmObservation {
  phase: VmPhase
  /** Base URL the appserver answers HTTP on once running, e.g. "http://10.0.0.5:80". No trailing slash. */
  address?: string
  /** Human-readable detail (provider status, failure reason). */
  detail?: string
}

export type ConfigureProgress = { state: 'done' } | { state: 'running' } | { state: 'failed'; error: string }

/** One VM the driver found carrying our owner tag. */
export interface OwnedVm {
  appserverId: string
  externalId: string
  phase: VmPhase
}

export interface VmDriver {
  readonly kind: VmDriverKind
  /**
   * Creates the VM for `spec.appserverId`, or returns the one created before for that appserver
   * (looked up by its tag), so a retry after a crash never makes a second one. Returns quickly: booting is
   * watched with `observe`, never waited for here.
   */
  create(spec: VmSpec, log: LogSink): Promise<VmRef>
  /** Looks at the VM once, without waiting. */
  observe(ref: VmRef): Promise<VmObservation>
  /**
   * Configures a running VM (OVH: runs Ansible). Called again on each check until it answers `done` or
   * `failed`; the first call starts the work, later calls report on it and never start it twice.
   * Drivers with nothing to configure answer `done` at once.
   */
  configure(ref: VmRef, spec: VmSpec, address: string, log: LogSink): Promise<ConfigureProgress>
  /** Removes the VM and everything created with it (keys, files). Idempotent: gone already is fine. */
  destroy(ref: VmRef, log: LogSink): Promise<void>
  /** Every VM carrying this installation's owner tag, for the reconciler. */
  list(): Promise<OwnedVm[]>
  /** Checks the credentials and that the outside system answers; throws a ProvisionerError otherwise. */
  testConnection(): Promise<void>
}

/** An outside system refused or failed: names the provider and the operation. */
export class ProvisionerError extends Error {
  constructor(
    readonly provider: string,
    readonly operation: string,
    message: string,
    /** true when trying again later may work (timeouts, 429, 5xx, quota that may free up) */
    readonly retryable = false,
    options?: { cause?: unknown },
  ) {
    super(`${provider} ${operation}: ${message}`, options)
    this.name = 'ProvisionerError'
  }
}

/**
 * The name of everything a driver creates for an appserver: the installation's owner tag (config
 * OWNER_TAG) and the appserver id. `parseVmName` reads it back; anything else is not ours.
 */
export function vmName(ownerTag: string, appserverId: string): string {
  return `${ownerTag}-as-${appserverId}`
}

export function parseVmName(ownerTag: string, name: string): string | undefined {
  const prefix = `${ownerTag}-as-`
  if (!name.startsWith(prefix)) return undefined
  const id = name.slice(prefix.length)
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id) ? id : undefined
}

// ---------------------------------------------------------------------------------------------
// Routers: how activation points an instance's hostnames at its appservers.

export const ROUTER_KINDS = ['direct', 'consul'] as const
export type RouterKind = (typeof ROUTER_KINDS)[number]

export interface RoutingBackend {
  appserverId: string
  /** base URL, e.g. http://10.0.0.5:80 */
  address: string
  /** active: takes new requests; draining: finishes open ones, gets no new ones */
  role: 'active' | 'draining'
}

/** Where one instance's traffic should go: a pure function of the database (lib/routing/desired-routing.ts). */
export interface DesiredRouting {
  instanceId: string
  slug: string
  hostnames: string[]
  backends: RoutingBackend[]
  healthPath: string
  /** no active backend: the load balancer shows a maintenance page */
  maintenance: boolean
}

export interface Router {
  readonly kind: RouterKind
  /** Publishes the instance's routing and resolves once it is in effect (or throws; the caller retries). */
  publish(routing: DesiredRouting): Promise<void>
  /** Removes everything routed for the instance (archive). Idempotent. */
  remove(instanceId: string): Promise<void>
}
