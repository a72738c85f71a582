import { isIP } from 'node:net'
import path from 'node:path'
import { z } from 'zod'

/**
 * Every environment variable the product reads, parsed once. Nothing else reads process.env
 * (scripts/start.ts writes DATABASE_URL when it starts the embedded PostgreSQL, before anything loads).
 * Each field's description is the README's configuration table.
 */
const bool = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .default(fallback ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes')

const list = (value: string) =>
  value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)

const KEYS_PATTERN = /^[A-Za-z0-9_-]{1,32}:[A-Za-z0-9+/=_-]{43,44}(,[A-Za-z0-9_-]{1,32}:[A-Za-z0-9+/=_-]{43,44})*$/

export const ZConfigEnv = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('production').describe('Node environment.'),
  PORT: z.coerce.number().int().min(1).max(65535).default(3000).describe('HTTP port of the console and API.'),
  HOST: z.string().min(1).default('0.0.0.0').describe('Address the HTTP server binds to.'),
  PUBLIC_URL: z
    .url()
    .optional()
    .describe('Address users reach the console at (links in invitations, cookie security). Default http://localhost:PORT.'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional()
    .describe('PostgreSQL for the control data and the job queue. Unset: an embedded PostgreSQL is started in DATA_DIR.'),
  DATA_DIR: z.string().min(1).default('.data').describe('Folder for the embedded PostgreSQL and generated local secrets.'),
  EMBEDDED_PG_PORT: z.coerce.number().int().min(1).max(65535).default(54329).describe('Port of the embedded PostgreSQL (loopback only).'),
  AUTH_SECRET: z
    .string()
    .min(32, 'must be at least 32 characters')
    .optional()
    .describe('Secret that signs session cookies. Unset: one is generated once and kept in DATA_DIR/auth-secret.'),
  TRUST_PROXY: bool(false).describe(
    'Trust X-Forwarded-For for the client address (set when behind a reverse proxy); used by sign-in rate limits.',
  ),
  SIGN_IN_MAX_ATTEMPTS: z.coerce
    .number()
    .int()
    .min(1)
    .default(5)
    .describe('Sign-in attempts allowed per client address per SIGN_IN_WINDOW_SECONDS.'),
  SIGN_IN_WINDOW_SECONDS: z.coerce.number().int().min(1).default(60).describe('Window of the sign-in rate limit.'),
  SESSION_TTL_HOURS: z.coerce.number().int().min(1).default(168).describe('How long a console session lasts.'),
  INVITATION_TTL_HOURS: z.coerce.number().int().min(1).default(168).describe('How long an invitation link stays valid.'),
  REVOKED_TOKEN_RETENTION_DAYS: z.coerce
    .number()
    .int()
    .min(0)
    .default(30)
    .describe('Revoked API tokens are deleted this many days after revocation (audit entries remain).'),
  SMTP_URL: z
    .string()
    .regex(/^smtps?:\/\//, 'must be an smtp:// or smtps:// URL')
    .optional()
    .describe('SMTP server for invitation emails, e.g. smtp://user:pass@host:587. Unset: links are printed to the log.'),
  MAIL_FROM: z.string().min(3).default('Tenon <no-reply@localhost>').describe('Sender of outgoing email.'),
  HOSTING_ZONE: z
    .string()
    .regex(/^(?=.{1,200}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/, 'must be a lowercase DNS name')
    .default('instances.localhost')
    .describe('DNS zone under which each instance gets the hostname SLUG.HOSTING_ZONE.'),
  RUN_WORKER: bool(true).describe('Run the job worker inside `npm start`. Set false when separate `npm run worker` processes do the work.'),
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(100).default(4).describe('Jobs one worker process runs at once.'),
  METRICS_TOKEN: z
    .string()
    .min(16, 'must be at least 16 characters')
    .optional()
    .describe('When set, GET /api/metrics requires "Authorization: Bearer METRICS_TOKEN". Unset: the endpoint is open.'),
  SECRETS_KEYS: z
    .string()
    .regex(KEYS_PATTERN, 'must be id:base64key[,id:base64key…] with 32-byte keys')
    .optional()
    .describe(
      'Master keys for secrets at rest (AES-256-GCM): `id:base64key` pairs, comma-separated; the first encrypts, all decrypt. Unset: one is generated once and kept in DATA_DIR/secrets-keys.',
    ),
  OWNER_TAG: z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,19}$/, 'must be 1-20 lowercase letters, digits or dashes, starting with a letter')
    .default('tenon')
    .describe(
      'Prefix of everything this installation creates outside (VM names, Nomad jobs, local processes), so its reconciler finds its own and nothing else.',
    ),
  VM_DRIVER: z
    .enum(['local', 'ovh', 'nomad'])
    .default('local')
    .describe('Where new appservers run: local processes, OVH Public Cloud VMs or Nomad allocations.'),
  LOCAL_APPSERVER_DIR: z
    .string()
    .min(1)
    .optional()
    .describe("Folder of the local driver's appservers (config, port, logs). Default DATA_DIR/appservers."),
  VM_POLL_INTERVAL_SECONDS: z.coerce
    .number()
    .positive()
    .default(5)
    .describe('How often a booting or configuring appserver is looked at again.'),
  PROVISION_TIMEOUT_SECONDS: z.coerce.number().positive().default(1200).describe("Deadline for an appserver's VM to be running."),
  CONFIGURE_TIMEOUT_SECONDS: z.coerce
    .number()
    .positive()
    .default(3600)
    .describe("Deadline for an appserver's configuration (Ansible) to finish."),
  HEALTH_CHECK_INTERVAL_SECONDS: z.coerce.number().positive().default(5).describe('Time between health checks of a starting appserver.'),
  HEALTH_CHECK_TIMEOUT_SECONDS: z.coerce.number().positive().default(5).describe('Timeout of one health check request.'),
  HEALTH_DEADLINE_SECONDS: z.coerce
    .number()
    .positive()
    .default(900)
    .describe('Deadline for a starting appserver to answer its health check; past it the appserver fails.'),
  DRAIN_SECONDS: z.coerce
    .number()
    .min(0)
    .default(300)
    .describe('Grace period a replaced appserver keeps serving open requests before it is taken out.'),
  ROLLBACK_KEEP: z.coerce
    .number()
    .int()
    .min(0)
    .max(20)
    .default(2)
    .describe('Previous deployments kept running (inactive) per instance for a quick rollback; older ones are terminated.'),
  ORPHAN_GRACE_SECONDS: z.coerce
    .number()
    .min(0)
    .default(600)
    .describe('Age after which the reconciler terminates a VM that carries our tag but has no live appserver record.'),
  RECONCILE_INTERVAL_SECONDS: z.coerce
    .number()
    .positive()
    .default(30)
    .describe('How often a worker looks for stalled appservers, orphan VMs and vanished ones.'),
  OVH_ENDPOINT: z.string().min(1).default('ovh-eu').describe('OVH API endpoint: ovh-eu, ovh-ca, ovh-us, or an https:// API base URL.'),
  OVH_APPLICATION_KEY: z.string().min(1).optional().describe('OVH API application key (VM_DRIVER=ovh).'),
  OVH_APPLICATION_SECRET: z.string().min(1).optional().describe('OVH API application secret.'),
  OVH_CONSUMER_KEY: z.string().min(1).optional().describe('OVH API consumer key (needs the /cloud/project rights).'),
  OVH_PROJECT_ID: z.string().min(1).optional().describe("OVH Public Cloud project id (the API's serviceName)."),
  OVH_REGION: z.string().min(1).optional().describe('OVH region new appserver VMs are created in, e.g. GRA11.'),
  OVH_FLAVOR_ID: z.string().min(1).optional().describe('OVH flavor id of appserver VMs.'),
  OVH_IMAGE_ID: z.string().min(1).optional().describe('OVH image id of appserver VMs (an Ubuntu LTS image).'),
  OVH_SSH_USER: z.string().min(1).default('ubuntu').describe('User cloud-init creates on OVH VMs; Ansible connects as it.'),
  OVH_APPSERVER_PORT: z.coerce.number().int().min(1).max(65535).default(80).describe('Port OVH appservers answer HTTP on.'),
  OVH_SSH_KEY_SECRET: z
    .string()
    .min(32, 'must be at least 32 characters')
    .optional()
    .describe(
      "Secret each OVH appserver's SSH key is derived from, so a create retried after a crash can still configure the VM it finds.",
    ),
  ANSIBLE_PLAYBOOK: z.string().min(1).default('ansible/appserver.yml').describe('Playbook that configures an OVH appserver.'),
  ANSIBLE_RUN_DIR: z
    .string()
    .min(1)
    .optional()
    .describe('Folder of Ansible runs (state and logs). Default DATA_DIR/ansible-runs; share it between worker machines.'),
  NOMAD_ADDR: z.url().optional().describe('Nomad HTTP API address, e.g. https://nomad.example.net:4646 (VM_DRIVER=nomad).'),
  NOMAD_TOKEN: z.string().min(1).optional().describe('Nomad ACL token (submit-job, read-job, list-jobs).'),
  NOMAD_DATACENTERS: z.string().min(1).default('dc1').describe('Comma-separated Nomad datacenters appserver jobs may run in.'),
  NOMAD_REGION: z.string().min(1).optional().describe('Nomad region of appserver jobs.'),
  NOMAD_NAMESPACE: z.string().min(1).optional().describe('Nomad namespace of appserver jobs.'),
  NOMAD_IMAGE: z.string().min(1).default('overhangio/openedx').describe('Container image of Nomad appservers (the release is its tag).'),
  NOMAD_CPU_MHZ: z.coerce.number().int().min(100).default(2000).describe('CPU reserved per Nomad appserver (MHz).'),
  NOMAD_MEMORY_MB: z.coerce.number().int().min(128).default(4096).describe('Memory reserved per Nomad appserver (MB).'),
  PROVIDER_TIMEOUT_SECONDS: z.coerce
    .number()
    .positive()
    .default(30)
    .describe('Timeout of one call to an outside API (OVH, Nomad, the resource clusters).'),
  CONSUL_HTTP_ADDR: z
    .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
    .optional()
    .describe('Consul HTTP API, e.g. http://127.0.0.1:8500. Set: routing goes to Consul for the load-balancer agents (the consul router).'),
  CONSUL_HTTP_TOKEN: z.string().min(1).optional().describe('Consul ACL token (KV read/write under CONSUL_PREFIX, service register).'),
  CONSUL_PREFIX: z
    .string()
    .regex(/^[a-z0-9][a-z0-9/_-]*[a-z0-9]$/, 'must be lowercase letters, digits, /, _ or -')
    .default('tenon')
    .describe('KV prefix of the routing state and prefix of the service names in Consul.'),
  ROUTING_APPLY_TIMEOUT_SECONDS: z.coerce
    .number()
    .positive()
    .default(30)
    .describe('How long an activation waits for every load-balancer node to apply the new routing before it retries.'),
  LB_AGENT_STALE_SECONDS: z.coerce
    .number()
    .positive()
    .default(60)
    .describe('A load-balancer node silent for this long is shown as down and not waited for.'),
  LB_NODE_NAME: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'must be a host-name-like label')
    .optional()
    .describe("lb-agent: this node's name in its reports. Default: the host name."),
  LB_HTTP_PORT: z.coerce.number().int().min(1).max(65535).default(80).describe('lb-agent: the port HAProxy serves HTTP on.'),
  LB_HTTPS_PORT: z.coerce
    .number()
    .int()
    .min(1)
    .max(65535)
    .default(443)
    .describe('lb-agent: the port HAProxy serves HTTPS on, once it has certificates.'),
  LB_BIND_ADDRESS: z.string().min(1).default('0.0.0.0').describe('lb-agent: the address HAProxy binds to.'),
  HAPROXY_CONFIG_DIR: z
    .string()
    .min(1)
    .default('/etc/haproxy/tenon')
    .describe('lb-agent: where it writes haproxy.cfg, the maps and pages.'),
  HAPROXY_MASTER_SOCKET: z
    .string()
    .min(1)
    .default('/run/haproxy-master.sock')
    .describe("lb-agent: HAProxy's master CLI socket (-S), for reloads."),
  HAPROXY_STATS_SOCKET: z
    .string()
    .min(1)
    .default('/run/haproxy/tenon.sock')
    .describe("lb-agent: HAProxy's runtime API socket (level admin)."),
  HAPROXY_BIN: z.string().min(1).default('haproxy').describe('lb-agent: the haproxy program, for `haproxy -c` checks.'),
  HAPROXY_USER: z
    .string()
    .min(1)
    .optional()
    .describe("lb-agent: the user HAProxy's workers run as (with HAPROXY_GROUP). Unset: as started."),
  HAPROXY_GROUP: z.string().min(1).optional().describe("lb-agent: the group HAProxy's workers run as (with HAPROXY_USER)."),
  HAPROXY_SOCKET_GROUP: z
    .string()
    .min(1)
    .optional()
    .describe('lb-agent: group given access (mode 660) to the runtime API socket, so an unprivileged agent can use it. Unset: mode 600.'),
  HAPROXY_SYSLOG: z.string().min(1).optional().describe("lb-agent: syslog target of HAProxy's logs, e.g. /dev/log. Unset: no logs."),
  LB_HEARTBEAT_SECONDS: z.coerce.number().positive().default(10).describe('lb-agent: how often it reports to Consul when nothing changes.'),
  ROLLOUT_SCHEDULE: z
    .string()
    .regex(/^(\S+\s+){4}\S+$/, 'must be a five-field cron expression, e.g. "0 2 * * 0"')
    .optional()
    .describe(
      'Cron (UTC) on which the scheduler starts a rollout redeploying instances whose active deployment is older than ROLLOUT_MIN_AGE_DAYS. Unset: no scheduled rollouts.',
    ),
  ROLLOUT_MIN_AGE_DAYS: z.coerce
    .number()
    .int()
    .min(0)
    .default(7)
    .describe('Scheduled rollouts redeploy instances whose active deployment is at least this old.'),
  ROLLOUT_CONCURRENCY: z.coerce.number().int().min(1).max(500).default(5).describe('Instances a scheduled rollout redeploys at once.'),
  ROLLOUT_FAILURE_BUDGET_PERCENT: z.coerce
    .number()
    .int()
    .min(0)
    .max(100)
    .default(10)
    .describe('A scheduled rollout pauses when more than this percentage of its instances fail.'),
  RESOURCE_RETENTION_DAYS: z.coerce
    .number()
    .int()
    .min(0)
    .default(30)
    .describe(
      "An archived instance's databases, vhost and bucket are destroyed this many days after its final export (restore until then).",
    ),
  RESOURCE_RETRY_LIMIT: z.coerce
    .number()
    .int()
    .min(0)
    .max(50)
    .default(6)
    .describe('Automatic retries of a failing resource (with backoff) before it is marked failed for a person to retry.'),
  ARCHIVE_EXPORT_DIR: z
    .string()
    .min(1)
    .optional()
    .describe(
      'Folder the final MySQL export of an archived instance is written to (gzipped SQL). Default DATA_DIR/exports; use durable storage.',
    ),
  ARCHIVE_EXPORT_S3_CLUSTER: z
    .string()
    .min(1)
    .optional()
    .describe(
      'Name of a registered S3 cluster the final exports are streamed to instead of ARCHIVE_EXPORT_DIR (with ARCHIVE_EXPORT_S3_BUCKET).',
    ),
  ARCHIVE_EXPORT_S3_BUCKET: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name')
    .optional()
    .describe(
      'Existing bucket on ARCHIVE_EXPORT_S3_CLUSTER that keeps the final exports (under exports/); give it its own retention rules.',
    ),
  GANDI_TOKEN: z
    .string()
    .min(1)
    .optional()
    .describe(
      'Gandi personal access token with LiveDNS rights on HOSTING_ZONE. Set: DNS records of the hosting zone are kept in Gandi LiveDNS.',
    ),
  GANDI_API_URL: z
    .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
    .default('https://api.gandi.net/v5/livedns')
    .describe('Base URL of the Gandi LiveDNS v5 API.'),
  DNS_TTL_SECONDS: z.coerce.number().int().min(300).max(2592000).default(300).describe('TTL of the records Tenon writes.'),
  DNS_LB_ADDRESSES: z
    .string()
    .refine((v) => list(v).every((a) => isIP(a) !== 0), 'must be IPv4 or IPv6 addresses, comma-separated')
    .optional()
    .describe(
      "Comma-separated IPv4/IPv6 addresses the hosting zone's records point at. Unset: the addresses the load-balancer agents report (LB_PUBLIC_ADDRESSES).",
    ),
  DNS_RESOLVERS: z
    .string()
    .optional()
    .describe('Comma-separated resolvers (ip or ip:port) that check custom domains’ records. Unset: the system resolvers.'),
  DOMAIN_VERIFICATION_DAYS: z.coerce
    .number()
    .int()
    .min(1)
    .max(90)
    .default(7)
    .describe('How long a custom domain may wait for its DNS records before its verification expires.'),
  ACME_DIRECTORY_URL: z
    .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
    .optional()
    .describe(
      "ACME directory, e.g. Let's Encrypt's production or staging directory URL. Unset: no certificates are issued (uploads still work).",
    ),
  ACME_EMAIL: z.email().optional().describe('Contact address of the ACME account (expiry notices from the CA).'),
  ACME_CA_BUNDLE: z
    .string()
    .min(1)
    .optional()
    .describe("PEM file of extra CAs to trust for the ACME directory's own HTTPS (a private CA; Pebble in tests)."),
  ACME_CERTIFICATES_PER_WEEK: z.coerce
    .number()
    .int()
    .min(1)
    .default(50)
    .describe("The CA's limit of new certificates per registered domain per 7 days (Let's Encrypt: 50)."),
  ACME_DUPLICATES_PER_WEEK: z.coerce
    .number()
    .int()
    .min(1)
    .default(5)
    .describe("The CA's limit of certificates for the same set of names per 7 days (Let's Encrypt: 5)."),
  ACME_FAILURES_PER_HOUR: z.coerce
    .number()
    .int()
    .min(1)
    .default(5)
    .describe("The CA's limit of failed validations per hostname per hour (Let's Encrypt: 5)."),
  ACME_ORDERS_PER_3_HOURS: z.coerce
    .number()
    .int()
    .min(1)
    .default(300)
    .describe("The CA's limit of new orders per account per 3 hours (Let's Encrypt: 300)."),
  ACME_BUDGET_RESERVE_PERCENT: z.coerce
    .number()
    .min(0)
    .max(90)
    .default(10)
    .describe('Share of each rate limit Tenon leaves unused (for people issuing by hand, and clock differences).'),
  CERTIFICATE_RENEW_DAYS: z.coerce
    .number()
    .int()
    .min(1)
    .max(60)
    .default(30)
    .describe('Renew ACME certificates this many days before they expire, when the CA gives no renewal window (ARI).'),
  CERTIFICATE_RENEWAL_SCHEDULE: z.string().min(9).default('17 3 * * *').describe('Cron (UTC) of the daily renewal sweep.'),
  CERTIFICATE_ALERT_DAYS: z.coerce
    .number()
    .int()
    .min(1)
    .max(60)
    .default(14)
    .describe('A certificate that is not renewed this many days before it expires raises an alert; uploaded ones notify their client.'),
  ALERT_WEBHOOK_URL: z
    .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
    .optional()
    .describe('Alerts (failed renewals, expiring certificates) are also POSTed here as JSON.'),
  ALERT_EMAIL: z.string().optional().describe('Comma-separated addresses that receive alerts by email (with SMTP_URL).'),
  LB_CERTIFICATE_KEYS: z
    .string()
    .regex(KEYS_PATTERN, 'must be id:base64key[,id:base64key…] with 32-byte keys')
    .optional()
    .describe(
      'Keys (same form as SECRETS_KEYS) that encrypt certificate private keys for the load-balancer agents; the control plane and every agent need the same. Required with CONSUL_HTTP_ADDR once certificates are used.',
    ),
  LB_PUBLIC_ADDRESSES: z
    .string()
    .refine((v) => list(v).every((a) => isIP(a) !== 0), 'must be IPv4 or IPv6 addresses, comma-separated')
    .optional()
    .describe("lb-agent: comma-separated addresses clients reach this node at; the hosting zone's records point at them."),
  MYSQLDUMP_PATH: z.string().min(1).default('mysqldump').describe('The mysqldump (or mariadb-dump) program used for final exports.'),
  CRASH_POINT: z
    .string()
    .optional()
    .describe('Test-only fault injection: the worker kills itself (SIGKILL) when it reaches this named step. Never set in production.'),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .default('info')
    .describe('Log level (logs are JSON lines on stdout).'),
})

export type TConfigEnv = z.infer<typeof ZConfigEnv>

export interface Config {
  nodeEnv: TConfigEnv['NODE_ENV']
  port: number
  host: string
  publicUrl: string
  databaseUrl: string | undefined
  dataDir: string
  embeddedPgPort: number
  authSecret: string | undefined
  trustProxy: boolean
  signIn: { maxAttempts: number; windowSeconds: number }
  sessionTtlHours: number
  invitationTtlHours: number
  revokedTokenRetentionDays: number
  smtpUrl: string | undefined
  mailFrom: string
  hostingZone: string
  runWorker: boolean
  workerConcurrency: number
  metricsToken: string | undefined
  logLevel: TConfigEnv['LOG_LEVEL']
  secretsKeys: string | undefined
  ownerTag: string
  vmDriver: TConfigEnv['VM_DRIVER']
  localAppserverDir: string
  appservers: {
    pollIntervalMs: number
    provisionTimeoutMs: number
    configureTimeoutMs: number
    healthIntervalMs: number
    healthRequestTimeoutMs: number
    healthDeadlineMs: number
    drainMs: number
    rollbackKeep: number
    orphanGraceMs: number
    reconcileIntervalMs: number
  }
  resources: {
    retentionDays: number
    retryLimit: number
    exportDir: string
    /** set: exports go to this bucket of this registered S3 cluster instead of exportDir */
    exportS3: { cluster: string; bucket: string } | undefined
    mysqldumpPath: string
  }
  /** set when GANDI_TOKEN is: the hosting zone's records are kept in Gandi LiveDNS */
  dns: { provider: 'gandi'; apiUrl: string; token: string; ttl: number; lbAddresses: string[] | undefined } | undefined
  domains: { resolvers: string[] | undefined; verificationDays: number }
  /** set when ACME_DIRECTORY_URL is */
  acme: AcmeConfig | undefined
  certificates: { renewDays: number; renewalCron: string; alertDays: number; lbKeys: string | undefined }
  alerts: { webhookUrl: string | undefined; emails: string[] }
  crashPoint: string | undefined
  /** set when VM_DRIVER=ovh or the OVH variables are given */
  ovh: OvhConfig | undefined
  nomad: NomadConfig | undefined
  providerTimeoutMs: number
  rolloutSchedule: { cron: string | undefined; minAgeDays: number; concurrency: number; failureBudgetPercent: number }
  /** set when CONSUL_HTTP_ADDR is: the consul router replaces the direct one */
  consul: { address: string; token: string | undefined; prefix: string } | undefined
  routing: { applyTimeoutMs: number; agentStaleMs: number }
  lbAgent: {
    nodeName: string | undefined
    httpPort: number
    httpsPort: number
    bindAddress: string
    configDir: string
    masterSocket: string
    statsSocket: string
    haproxyBin: string
    heartbeatMs: number
    publicAddresses: string[]
    runAs: { user: string; group: string } | undefined
    socketGroup: string | undefined
    syslog: string | undefined
  }
}

export interface AcmeConfig {
  directoryUrl: string
  email: string | undefined
  caBundlePath: string | undefined
  limits: { certificatesPerWeek: number; duplicatesPerWeek: number; failuresPerHour: number; ordersPer3Hours: number }
  /** 0..0.9: the share of each limit left unused */
  reserve: number
}

export interface OvhConfig {
  endpoint: string
  appKey: string
  appSecret: string
  consumerKey: string
  projectId: string
  region: string
  flavorId: string
  imageId: string
  sshUser: string
  appserverPort: number
  sshKeySecret: string | undefined
  ansiblePlaybook: string
  ansibleRunDir: string
}

export interface NomadConfig {
  address: string
  token: string | undefined
  datacenters: string[]
  region: string | undefined
  namespace: string | undefined
  image: string
  cpuMhz: number
  memoryMb: number
}

const OVH_REQUIRED = [
  'OVH_APPLICATION_KEY',
  'OVH_APPLICATION_SECRET',
  'OVH_CONSUMER_KEY',
  'OVH_PROJECT_ID',
  'OVH_REGION',
  'OVH_FLAVOR_ID',
  'OVH_IMAGE_ID',
] as const

function ovhConfig(e: TConfigEnv): OvhConfig | undefined {
  const missing = OVH_REQUIRED.filter((k) => !e[k])
  if (missing.length === OVH_REQUIRED.length && e.VM_DRIVER !== 'ovh') return undefined
  if (missing.length) throw new ConfigError(missing.map((variable) => ({ variable, message: 'is required for the OVH driver' })))
  return {
    endpoint: e.OVH_ENDPOINT,
    appKey: e.OVH_APPLICATION_KEY!,
    appSecret: e.OVH_APPLICATION_SECRET!,
    consumerKey: e.OVH_CONSUMER_KEY!,
    projectId: e.OVH_PROJECT_ID!,
    region: e.OVH_REGION!,
    flavorId: e.OVH_FLAVOR_ID!,
    imageId: e.OVH_IMAGE_ID!,
    sshUser: e.OVH_SSH_USER,
    appserverPort: e.OVH_APPSERVER_PORT,
    sshKeySecret: e.OVH_SSH_KEY_SECRET,
    ansiblePlaybook: e.ANSIBLE_PLAYBOOK,
    ansibleRunDir: e.ANSIBLE_RUN_DIR ?? path.join(e.DATA_DIR, 'ansible-runs'),
  }
}

function exportS3Config(e: TConfigEnv): { cluster: string; bucket: string } | undefined {
  if (!e.ARCHIVE_EXPORT_S3_CLUSTER && !e.ARCHIVE_EXPORT_S3_BUCKET) return undefined
  if (!e.ARCHIVE_EXPORT_S3_CLUSTER || !e.ARCHIVE_EXPORT_S3_BUCKET) {
    const missing = e.ARCHIVE_EXPORT_S3_CLUSTER ? 'ARCHIVE_EXPORT_S3_BUCKET' : 'ARCHIVE_EXPORT_S3_CLUSTER'
    throw new ConfigError([{ variable: missing, message: 'is required with the other ARCHIVE_EXPORT_S3_ variable' }])
  }
  return { cluster: e.ARCHIVE_EXPORT_S3_CLUSTER, bucket: e.ARCHIVE_EXPORT_S3_BUCKET }
}

function nomadConfig(e: TConfigEnv): NomadConfig | undefined {
  if (!e.NOMAD_ADDR) {
    if (e.VM_DRIVER === 'nomad') throw new ConfigError([{ variable: 'NOMAD_ADDR', message: 'is required for the Nomad driver' }])
    return undefined
  }
  return {
    address: e.NOMAD_ADDR,
    token: e.NOMAD_TOKEN,
    datacenters: e.NOMAD_DATACENTERS.split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    region: e.NOMAD_REGION,
    namespace: e.NOMAD_NAMESPACE,
    image: e.NOMAD_IMAGE,
    cpuMhz: e.NOMAD_CPU_MHZ,
    memoryMb: e.NOMAD_MEMORY_MB,
  }
}

export class ConfigError extends Error {
  constructor(readonly issues: { variable: string; message: string }[]) {
    super('Invalid configuration:\n' + issues.map((i) => `  ${i.variable}: ${i.message}`).join('\n'))
    this.name = 'ConfigError'
  }
}

/** Parses an environment into a Config. Empty strings count as unset. Throws ConfigError naming each bad variable. */
export function parseConfig(env: Record<string, string | undefined>): Config {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''))
  const parsed = ZConfigEnv.safeParse(cleaned)
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => ({ variable: String(i.path[0] ?? '?'), message: i.message })))
  }
  const e = parsed.data
  return {
    nodeEnv: e.NODE_ENV,
    port: e.PORT,
    host: e.HOST,
    publicUrl: (e.PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, ''),
    databaseUrl: e.DATABASE_URL,
    dataDir: e.DATA_DIR,
    embeddedPgPort: e.EMBEDDED_PG_PORT,
    authSecret: e.AUTH_SECRET,
    trustProxy: e.TRUST_PROXY,
    signIn: { maxAttempts: e.SIGN_IN_MAX_ATTEMPTS, windowSeconds: e.SIGN_IN_WINDOW_SECONDS },
    sessionTtlHours: e.SESSION_TTL_HOURS,
    invitationTtlHours: e.INVITATION_TTL_HOURS,
    revokedTokenRetentionDays: e.REVOKED_TOKEN_RETENTION_DAYS,
    smtpUrl: e.SMTP_URL,
    mailFrom: e.MAIL_FROM,
    hostingZone: e.HOSTING_ZONE,
    runWorker: e.RUN_WORKER,
    workerConcurrency: e.WORKER_CONCURRENCY,
    metricsToken: e.METRICS_TOKEN,
    logLevel: e.LOG_LEVEL,
    secretsKeys: e.SECRETS_KEYS,
    ownerTag: e.OWNER_TAG,
    vmDriver: e.VM_DRIVER,
    localAppserverDir: e.LOCAL_APPSERVER_DIR ?? path.join(e.DATA_DIR, 'appservers'),
    appservers: {
      pollIntervalMs: e.VM_POLL_INTERVAL_SECONDS * 1000,
      provisionTimeoutMs: e.PROVISION_TIMEOUT_SECONDS * 1000,
      configureTimeoutMs: e.CONFIGURE_TIMEOUT_SECONDS * 1000,
      healthIntervalMs: e.HEALTH_CHECK_INTERVAL_SECONDS * 1000,
      healthRequestTimeoutMs: e.HEALTH_CHECK_TIMEOUT_SECONDS * 1000,
      healthDeadlineMs: e.HEALTH_DEADLINE_SECONDS * 1000,
      drainMs: e.DRAIN_SECONDS * 1000,
      rollbackKeep: e.ROLLBACK_KEEP,
      orphanGraceMs: e.ORPHAN_GRACE_SECONDS * 1000,
      reconcileIntervalMs: e.RECONCILE_INTERVAL_SECONDS * 1000,
    },
    resources: {
      retentionDays: e.RESOURCE_RETENTION_DAYS,
      retryLimit: e.RESOURCE_RETRY_LIMIT,
      exportDir: e.ARCHIVE_EXPORT_DIR ?? path.join(e.DATA_DIR, 'exports'),
      exportS3: exportS3Config(e),
      mysqldumpPath: e.MYSQLDUMP_PATH,
    },
    dns: e.GANDI_TOKEN
      ? {
          provider: 'gandi',
          apiUrl: e.GANDI_API_URL.replace(/\/+$/, ''),
          token: e.GANDI_TOKEN,
          ttl: e.DNS_TTL_SECONDS,
          lbAddresses: e.DNS_LB_ADDRESSES ? list(e.DNS_LB_ADDRESSES) : undefined,
        }
      : undefined,
    domains: { resolvers: e.DNS_RESOLVERS ? list(e.DNS_RESOLVERS) : undefined, verificationDays: e.DOMAIN_VERIFICATION_DAYS },
    acme: e.ACME_DIRECTORY_URL
      ? {
          directoryUrl: e.ACME_DIRECTORY_URL,
          email: e.ACME_EMAIL,
          caBundlePath: e.ACME_CA_BUNDLE,
          limits: {
            certificatesPerWeek: e.ACME_CERTIFICATES_PER_WEEK,
            duplicatesPerWeek: e.ACME_DUPLICATES_PER_WEEK,
            failuresPerHour: e.ACME_FAILURES_PER_HOUR,
            ordersPer3Hours: e.ACME_ORDERS_PER_3_HOURS,
          },
          reserve: e.ACME_BUDGET_RESERVE_PERCENT / 100,
        }
      : undefined,
    certificates: {
      renewDays: e.CERTIFICATE_RENEW_DAYS,
      renewalCron: e.CERTIFICATE_RENEWAL_SCHEDULE,
      alertDays: e.CERTIFICATE_ALERT_DAYS,
      lbKeys: e.LB_CERTIFICATE_KEYS,
    },
    alerts: { webhookUrl: e.ALERT_WEBHOOK_URL, emails: e.ALERT_EMAIL ? list(e.ALERT_EMAIL) : [] },
    crashPoint: e.CRASH_POINT,
    ovh: ovhConfig(e),
    nomad: nomadConfig(e),
    providerTimeoutMs: e.PROVIDER_TIMEOUT_SECONDS * 1000,
    consul: e.CONSUL_HTTP_ADDR
      ? { address: e.CONSUL_HTTP_ADDR.replace(/\/+$/, ''), token: e.CONSUL_HTTP_TOKEN, prefix: e.CONSUL_PREFIX }
      : undefined,
    routing: { applyTimeoutMs: e.ROUTING_APPLY_TIMEOUT_SECONDS * 1000, agentStaleMs: e.LB_AGENT_STALE_SECONDS * 1000 },
    lbAgent: {
      nodeName: e.LB_NODE_NAME,
      httpPort: e.LB_HTTP_PORT,
      httpsPort: e.LB_HTTPS_PORT,
      bindAddress: e.LB_BIND_ADDRESS,
      configDir: e.HAPROXY_CONFIG_DIR,
      masterSocket: e.HAPROXY_MASTER_SOCKET,
      statsSocket: e.HAPROXY_STATS_SOCKET,
      haproxyBin: e.HAPROXY_BIN,
      heartbeatMs: e.LB_HEARTBEAT_SECONDS * 1000,
      publicAddresses: e.LB_PUBLIC_ADDRESSES ? list(e.LB_PUBLIC_ADDRESSES) : [],
      runAs: e.HAPROXY_USER && e.HAPROXY_GROUP ? { user: e.HAPROXY_USER, group: e.HAPROXY_GROUP } : undefined,
      socketGroup: e.HAPROXY_SOCKET_GROUP,
      syslog: e.HAPROXY_SYSLOG,
    },
    rolloutSchedule: {
      cron: e.ROLLOUT_SCHEDULE,
      minAgeDays: e.ROLLOUT_MIN_AGE_DAYS,
      concurrency: e.ROLLOUT_CONCURRENCY,
      failureBudgetPercent: e.ROLLOUT_FAILURE_BUDGET_PERCENT,
    },
  }
}

const globalForConfig = globalThis as unknown as { tenonConfig?: Config }

/** The process's config, read from the environment on first use. */
export function getConfig(): Config {
  globalForConfig.tenonConfig ??= parseConfig(process.env)
  return globalForConfig.tenonConfig
}

/** The database URL; the start-up scripts guarantee it is set before the server or worker runs. */
export function requireDatabaseUrl(config: Config): string {
  if (!config.databaseUrl) {
    throw new ConfigError([
      { variable: 'DATABASE_URL', message: 'is required here (npm start sets it when it starts the embedded PostgreSQL)' },
    ])
  }
  return config.databaseUrl
}
