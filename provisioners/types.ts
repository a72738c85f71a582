import type { MongodbResource, MysqlResource, RabbitmqResource, S3Resource } from '@/lib/blueprints'

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
    options?: { cause?: unknown; retryAfterMs?: number },
  ) {
    super(`${provider} ${operation}: ${message}`, options)
    this.name = 'ProvisionerError'
    this.retryAfterMs = options?.retryAfterMs
  }
  /** when the outside system said how long to wait (HTTP Retry-After), in milliseconds */
  readonly retryAfterMs: number | undefined
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
  /** which certificate serves which of the hostnames (SNI); hostnames without one are served over HTTP only */
  certificates: RoutedCertificateRef[]
}

/** A certificate the load balancers serve for some of an instance's hostnames. */
export interface RoutedCertificateRef {
  /** the certificate's id (lib/certificates); the agents keep it as certs/<id>.pem */
  id: string
  hostnames: string[]
}

/**
 * A certificate and its private key on their way to the load balancers. The key is encrypted for the agents
 * (AES-256-GCM with LB_CERTIFICATE_KEYS, lib/secrets format), never sent in clear.
 */
export interface DeliveredCertificate {
  id: string
  /** PEM: the leaf first, then the chain */
  certificate: string
  /** the private key (PEM), encrypted for the agents */
  keyCiphertext: string
  /** SHA-256 of the leaf (DER), lower-case hex: an agent installs a certificate again only when this changes */
  fingerprint: string
  notAfter: string
}

/** An HTTP-01 challenge answer the load balancers serve at /.well-known/acme-challenge/<token> of `hostname`. */
export interface HttpChallenge {
  token: string
  keyAuthorization: string
  hostname: string
  /** agents stop serving it after this; the control plane removes it once the order is done */
  expiresAt: string
}

/**
 * Routers with load balancers deliver certificates and HTTP-01 challenge answers to them. Each call resolves once
 * every live node applied it (as publish does) and is idempotent.
 */
export interface CertificateDelivery {
  putCertificate(certificate: DeliveredCertificate): Promise<void>
  removeCertificate(id: string): Promise<void>
  putChallenge(challenge: HttpChallenge): Promise<void>
  removeChallenge(token: string): Promise<void>
  /** the ids of the certificates the load balancers hold, for the reconciler */
  listCertificates(): Promise<{ id: string; fingerprint: string }[]>
}

export interface Router {
  readonly kind: RouterKind
  /** Publishes the instance's routing and resolves once it is in effect (or throws; the caller retries). */
  publish(routing: DesiredRouting): Promise<void>
  /** Removes everything routed for the instance (archive). Idempotent. */
  remove(instanceId: string): Promise<void>
  /** Where people reach the site once this routing is in effect (the console's "Open site"), or null when nowhere. */
  siteUrl(routing: DesiredRouting): string | null
  /**
   * Routers that keep state outside (Consul) compare it with the desired routing of every routed instance and repair
   * drift: missing or different entries written, entries of instances no longer routed removed, missing services
   * registered. Without waiting for the load balancers.
   */
  reconcile?(desired: DesiredRouting[]): Promise<RoutingDriftReport>
  /** Routers with load-balancer nodes: the latest revision and what each node reports. */
  loadBalancers?(): Promise<LoadBalancerState>
  /** Routers with load balancers that terminate TLS (consul): certificates and HTTP-01 answers. */
  certificates?: CertificateDelivery
}

/** One load-balancer node as its agent reports itself. */
export interface LoadBalancerNode {
  node: string
  /** the last revision it applied */
  revision: number
  /** the last revision it read, applied or not */
  seenRevision: number
  appliedAt: string | null
  lagMs: number | null
  method: 'runtime' | 'reload' | 'none'
  lastError: string | null
  lastErrorAt: string | null
  lastSeen: string
  /** the addresses clients reach this node at (LB_PUBLIC_ADDRESSES of its agent): DNS records point here */
  publicAddresses: string[]
}

export interface LoadBalancerState {
  revision: number | null
  publishedAt: string | null
  nodes: LoadBalancerNode[]
}

export interface RoutingDriftReport {
  /** instances whose routing was missing or different, written again */
  written: string[]
  /** instances routed outside that should not be, removed */
  removed: string[]
  /** appserver services registered again */
  services: number
}

// ---------------------------------------------------------------------------------------------
// Resource provisioners: one instance's piece of a shared cluster (MySQL databases + user, MongoDB
// databases + user, RabbitMQ vhost + user, S3 bucket + credentials).

export const RESOURCE_KINDS = ['mysql', 'mongodb', 'rabbitmq', 's3'] as const
export type ResourceKind = (typeof RESOURCE_KINDS)[number]

/** How to reach a shared MySQL/MariaDB server as an administrator (a user with CREATE USER and GRANT OPTION). */
export interface MysqlClusterConnection {
  host: string
  port: number
  username: string
  password: string
  tls: boolean
  /** Host part of the users we create ("%" = from anywhere; narrow it to the appservers' network in production). */
  userHost: string
}

/** How to reach a MongoDB deployment as a user with userAdminAnyDatabase and dropDatabase rights. */
export interface MongodbClusterConnection {
  /** "host:port" or "host1:port,host2:port" (a replica set's seed list) */
  hosts: string
  username: string
  password: string
  /** database the administrator (and the users we create) are defined in */
  authSource: string
  replicaSet?: string
  tls: boolean
}

/** A RabbitMQ cluster: AMQP for the appservers, the management HTTP API for us. */
export interface RabbitmqClusterConnection {
  /** e.g. "http://127.0.0.1:15672" (no trailing slash) */
  managementUrl: string
  amqpHost: string
  amqpPort: number
  username: string
  password: string
  /** appservers connect with amqps */
  tls: boolean
}

/** An S3 (or S3-compatible) service and what it can do. */
export interface S3ClusterConnection {
  /** Base URL of an S3-compatible service; unset = AWS S3 in `region`. */
  endpoint?: string
  region: string
  accessKeyId: string
  secretAccessKey: string
  pathStyle: boolean
  /**
   * Create an IAM user and a policy limited to the bucket per instance (AWS, or a service with the IAM API).
   * Without it, instances get the cluster's own credentials: say so to the operator.
   */
  iam: boolean
  /** IAM API address when not AWS's (S3-compatible services with IAM, tests). */
  iamEndpoint?: string
  /** The service implements bucket lifecycle rules (s3rver does not). */
  lifecycle: boolean
  /** Objects under "tracking-logs/" expire after this many days (when `lifecycle`). */
  trackingLogsRetentionDays: number
}

/**
 * The names of everything one instance's resource consists of. Decided once (lib/resources/resource-names.ts:
 * owner tag + instance slug + a short suffix) and stored before anything is created, so a retry, `destroy` and
 * the reconciler all work from the same names. Every field is optional so that `destroy` can also remove an
 * orphan known only by part of its names.
 */
export interface ResourceNames {
  /** MySQL/MongoDB/RabbitMQ user; IAM user name for S3 with IAM */
  username?: string
  /** MySQL and MongoDB: purpose ("openedx", "forum") → database name */
  databases?: Record<string, string>
  vhost?: string
  bucket?: string
}

export interface ResourceSpec {
  /** the resource record's id (UUIDv7) */
  resourceId: string
  instanceSlug: string
  names: ResourceNames
  /**
   * The password the instance's user gets: generated once (CSPRNG) and stored, encrypted, before `ensure` runs,
   * so a retry sets the same one. Unused by S3 (AWS makes the secret key).
   */
  password: string
  /** S3: origins allowed to call the bucket from a browser (the instance's https:// hostnames). */
  corsOrigins?: string[]
}

/** A step about to run; tests throw from it to prove that a retry completes what a failure left half done. */
export type StepHook = (step: string) => void | Promise<void>

export interface EnsureOptions {
  /** The credentials a previous ensure returned, when any were stored (S3 with IAM reuses the access key). */
  existing?: ResourceCredentialsOf<ResourceKind>
  log?: LogSink
  onStep?: StepHook
}

/** Everything an appserver needs to use the resource, secrets included: the caller encrypts it at rest. */
export type ResourceCredentialsOf<K extends ResourceKind> = K extends 'mysql'
  ? MysqlResource
  : K extends 'mongodb'
    ? MongodbResource
    : K extends 'rabbitmq'
      ? RabbitmqResource
      : S3Resource

/** One object carrying this installation's owner tag, found on a cluster (for the reconciler and leak checks). */
export interface OwnedResourceObject {
  type: 'database' | 'user' | 'vhost' | 'bucket' | 'iam-user'
  name: string
}

export interface ResourceProvisioner<K extends ResourceKind = ResourceKind> {
  readonly kind: K
  /** The steps `ensure` runs, in order (the names passed to `onStep`). */
  readonly ensureSteps: readonly string[]
  /**
   * Creates whatever is missing and sets what exists to the spec (password, grants, CORS): running it twice
   * changes nothing, and it completes whatever an earlier failed run left half done.
   */
  ensure(spec: ResourceSpec, options?: EnsureOptions): Promise<ResourceCredentialsOf<K>>
  /** Logs in with the instance's own credentials and checks they open its resource (throws otherwise). */
  verify(spec: ResourceSpec, credentials: ResourceCredentialsOf<K>): Promise<void>
  /**
   * Gives the instance new credentials (`spec.password` is the new password; S3 with IAM makes a new access key
   * and deletes the others). The old ones stop working: the instance needs a redeploy. Idempotent for one password.
   */
  rotate(spec: ResourceSpec, current: ResourceCredentialsOf<K>): Promise<ResourceCredentialsOf<K>>
  /** Removes every named object (databases and their data, users, vhost, bucket and its objects). Idempotent. */
  destroy(names: ResourceNames, log?: LogSink): Promise<void>
  /** Everything on the cluster whose name carries this installation's owner tag. */
  list(): Promise<OwnedResourceObject[]>
  /** Checks the administrator credentials and rights; throws a ProvisionerError saying what is wrong. */
  testConnection(): Promise<void>
  /** Closes pooled connections. */
  close(): Promise<void>
}

/**
 * How every name this installation creates on a cluster starts, so `list()` finds ours and nothing else:
 * MySQL and MongoDB names use underscores ("tenon_"), RabbitMQ, S3 and IAM names dashes ("tenon-").
 */
export function ownedPrefix(kind: ResourceKind, ownerTag: string): string {
  return kind === 'mysql' || kind === 'mongodb' ? `${ownerTag.replaceAll('-', '_')}_` : `${ownerTag}-`
}

// ---------------------------------------------------------------------------------------------
// DNS providers: record sets in the hosting zone (Gandi LiveDNS).

export const DNS_RECORD_TYPES = ['A', 'AAAA', 'CNAME', 'TXT'] as const
export type DnsRecordType = (typeof DNS_RECORD_TYPES)[number]

/** All the records of one name and type, replaced as one (never deleted and re-added). */
export interface DnsRecordSet {
  /** relative to the zone ("@" for the apex), lower case, e.g. "acme" or "*.acme" */
  name: string
  type: DnsRecordType
  /** TTL in seconds (Gandi: 300 at least) */
  ttl: number
  /** TXT values without the surrounding quotes (the adapter quotes them) */
  values: string[]
}

export interface DnsProvider {
  /** the zone this provider manages, e.g. "hosting.example.net" */
  readonly zone: string
  /** One record set, or null when there is none. */
  get(name: string, type: DnsRecordType): Promise<DnsRecordSet | null>
  /** Creates or replaces one record set in a single request (atomic: the name never disappears). */
  replace(set: DnsRecordSet): Promise<void>
  /** Deletes one record set; already absent is fine. */
  remove(name: string, type: DnsRecordType): Promise<void>
  /** Every record set of the zone of a type Tenon manages (DNS_RECORD_TYPES; MX, NS, SOA… are left out). */
  list(): Promise<DnsRecordSet[]>
  /** Checks the token and that the zone exists; throws a ProvisionerError otherwise. */
  testConnection(): Promise<void>
}

// ---------------------------------------------------------------------------------------------
// ACME: certificates from Let's Encrypt (or any RFC 8555 CA; Pebble in tests).

/** One challenge the solver must make answerable before the CA validates it, and take away afterwards. */
export type AcmeChallengeTask =
  | {
      type: 'dns-01'
      /** the identifier validated, without any "*." */
      identifier: string
      /** the TXT record's full name, e.g. "_acme-challenge.acme.hosting.example.net" */
      recordName: string
      /** the TXT value */
      value: string
    }
  | { type: 'http-01'; identifier: string; token: string; keyAuthorization: string }

export interface AcmeChallengeSolver {
  present(task: AcmeChallengeTask): Promise<void>
  cleanup(task: AcmeChallengeTask): Promise<void>
}

export interface AcmeOrderRequest {
  /** the certificate's names (the first is its common name); "*.zone" needs dns-01 */
  hostnames: string[]
  challenge: 'dns-01' | 'http-01'
  /** the certificate's private key (PEM, PKCS#8); the CSR is made with it */
  privateKey: string
  /** ARI certificate id of the certificate this one renews (RFC 9773 `replaces`), when the CA offers ARI */
  replaces?: string
}

export interface IssuedCertificate {
  /** PEM: the leaf first, then the chain */
  certificate: string
  notBefore: string
  notAfter: string
  /** lower-case hex */
  serial: string
  /** the issuer's common name (or whole DN when it has none) */
  issuer: string
  /** SHA-256 of the leaf (DER), lower-case hex */
  fingerprint: string
  /** RFC 9773 certificate id (base64url AKI "." base64url serial), or null when the leaf has no AKI */
  ariCertId: string | null
}

/** The CA's suggested renewal window (RFC 9773), and when to ask again. */
export interface RenewalInfo {
  start: string
  end: string
  /** from Retry-After, in milliseconds */
  retryAfterMs: number | null
  explanationUrl: string | null
}

/**
 * What the CA refused, from its problem document (RFC 8555 §6.7): `rateLimited` (with Retry-After), a failed
 * validation (`unauthorized`, `dns`, `connection`, `incorrectResponse`… naming the hostnames), or anything else.
 * CA outages (unreachable, 5xx) are plain retryable ProvisionerErrors.
 */
export class AcmeProblemError extends ProvisionerError {
  constructor(
    operation: string,
    message: string,
    /** e.g. "urn:ietf:params:acme:error:rateLimited" */
    readonly problemType: string,
    /** the identifiers whose validation failed (empty when the problem is not a validation) */
    readonly failedHostnames: string[],
    options?: { cause?: unknown; retryAfterMs?: number },
  ) {
    super('ACME', operation, message, problemType.endsWith(':rateLimited') || problemType.endsWith(':serverInternal'), options)
    this.name = 'AcmeProblemError'
  }
  get rateLimited(): boolean {
    return this.problemType.endsWith(':rateLimited')
  }
}

export interface AcmeCa {
  readonly directoryUrl: string
  /** Registers the account (or finds it again by its key); answers the account URL. Idempotent. */
  ensureAccount(): Promise<string>
  /** Places an order, has the solver answer every challenge, finalizes and downloads the certificate. */
  issue(request: AcmeOrderRequest, solver: AcmeChallengeSolver): Promise<IssuedCertificate>
  /** The CA's renewal window for a certificate (RFC 9773), or null when the CA offers no ARI. */
  renewalInfo(ariCertId: string): Promise<RenewalInfo | null>
}
