import { generateKeyPairSync } from 'node:crypto'
import { instanceHostname } from '@/lib/instances/to-instance'
import type {
  BlueprintHostname,
  HostnameRole,
  RandomBytes,
  RenderedConfiguration,
  RenderInput,
  ResourceKind,
  ResourceNeeds,
  RsaPrivateKeyGenerator,
  SecretSpec,
} from './index'
import { OPENEDX_RELEASE_GIT_REFS, type TOpenedxSettings } from './openedx'

/**
 * The configuration an Open edX appserver runs with, in Tutor's variable names (an appserver runs Tutor, so the
 * names are the ones its templates read). Pure: no clock, no randomness, no I/O.
 *
 * Hostnames follow Tutor's own convention, all under the instance's hostname so that one wildcard record and
 * one certificate (SLUG.ZONE and *.SLUG.ZONE) cover an instance, and instances never share a cookie domain:
 *   LMS      SLUG.ZONE
 *   Studio   studio.SLUG.ZONE
 *   preview  preview.SLUG.ZONE  (Studio's "view live" of unpublished content)
 *   MFEs     apps.SLUG.ZONE     (the micro-frontends: learner dashboard, account, learning...)
 * A client's custom hostnames are aliases of the LMS (LMS_HOST_ALTS); LMS_HOST stays SLUG.ZONE so links in
 * emails and OAuth redirects do not change when a custom domain is added or removed.
 *
 * Extra settings are merged last, so an operator can override anything: mappings merge key by key at every
 * depth; any other value (scalar, list, null) replaces what was there. A list is replaced, never appended to.
 */

export const OPENEDX_HEALTH_PATH = '/heartbeat'

/**
 * Image repository used when the caller names none. Images are built (or mirrored) once per release and tagged
 * with the release name, so DOCKER_IMAGE_OPENEDX changes exactly when the release does.
 */
export const DEFAULT_OPENEDX_IMAGE_REPOSITORY = 'tenon/openedx'

export type OpenedxRenderInput = RenderInput<TOpenedxSettings>

/** Database purposes the render reads from each resource's `databases`. */
export const OPENEDX_RESOURCE_NEEDS = {
  mysql: { databases: ['openedx'] },
  mongodb: { databases: ['openedx', 'forum'] },
  rabbitmq: {},
  s3: {},
} as const satisfies ResourceNeeds

export const OPENEDX_SECRETS = [
  {
    name: 'OPENEDX_SECRET_KEY',
    kind: 'random',
    length: 48,
    description: 'Django SECRET_KEY of the LMS and Studio: signs sessions and reset links.',
  },
  { name: 'JWT_COMMON_SECRET_KEY', kind: 'random', length: 48, description: 'Signs the symmetric JWTs the Open edX services exchange.' },
  {
    name: 'JWT_RSA_PRIVATE_KEY',
    kind: 'rsa-private-key',
    bits: 2048,
    description: 'Signs the asymmetric JWTs the MFEs and services verify.',
  },
  {
    name: 'CMS_OAUTH2_SECRET',
    kind: 'random',
    length: 48,
    description: "Studio's OAuth2 client secret, for single sign-on through the LMS.",
  },
  {
    name: 'MYSQL_ROOT_PASSWORD',
    kind: 'random',
    length: 32,
    description: "Root password of the appserver's own MySQL (only without a MySQL resource).",
  },
  {
    name: 'OPENEDX_MYSQL_PASSWORD',
    kind: 'random',
    length: 32,
    description: "Open edX's password on the appserver's own MySQL (only without a MySQL resource).",
  },
] as const satisfies readonly SecretSpec[]

/** Variables that carry a secret whenever they are present (generated secrets and resource credentials). */
const SECRET_VARIABLES = [
  ...OPENEDX_SECRETS.map((s) => s.name),
  'MONGODB_PASSWORD',
  'CELERY_BROKER_PASSWORD',
  'CELERY_BROKER_URL',
  'OPENEDX_AWS_ACCESS_KEY',
  'OPENEDX_AWS_SECRET_ACCESS_KEY',
]

/** Keys in extra settings that look like they hold a secret (SMTP_PASSWORD, SOCIAL_AUTH_..._SECRET): masked too. */
const SECRET_LOOKING_KEY = /password|secret|token|private_?key|api_?key|credential/i

const RESOURCE_KINDS: readonly ResourceKind[] = ['mysql', 'mongodb', 'rabbitmq', 's3']

function hostnamesOf(lms: string): Record<HostnameRole, string> {
  return { lms, studio: `studio.${lms}`, preview: `preview.${lms}`, mfe: `apps.${lms}` }
}

export function openedxHostnames(instance: { slug: string }, hostingZone: string): BlueprintHostname[] {
  const hosts = hostnamesOf(instanceHostname(instance.slug, hostingZone))
  return (['lms', 'studio', 'preview', 'mfe'] as const).map((role) => ({ role, hostname: hosts[role] }))
}

export function renderOpenedxConfiguration(input: OpenedxRenderInput): RenderedConfiguration {
  const { instance, settings, resources, secrets } = input
  const missing = OPENEDX_SECRETS.map((s) => s.name).filter((name) => !secrets[name])
  // A programming error, not a user's: the caller must run generateMissingOpenedxSecrets and store the result first.
  if (missing.length) throw new Error(`Open edX render: instance secrets missing: ${missing.join(', ')}`)

  const hosts = hostnamesOf(instanceHostname(instance.slug, input.hostingZone))
  const lms = hosts.lms
  const https = input.enableHttps ?? true
  const scheme = https ? 'https' : 'http'
  const own = new Set(Object.values(hosts))
  const aliases = [...new Set((input.customHostnames ?? []).map((h) => h.toLowerCase()))].filter((h) => !own.has(h)).sort()
  const features = settings.features

  const base: Record<string, unknown> = {
    ID: instance.id,
    ...(input.appserver ? { TENON_APPSERVER_ID: input.appserver.id } : {}),
    PLATFORM_NAME: settings.platformName,
    CONTACT_EMAIL: settings.contactEmail,
    LANGUAGE_CODE: 'en',

    OPENEDX_RELEASE: settings.release,
    OPENEDX_COMMON_VERSION: OPENEDX_RELEASE_GIT_REFS[settings.release],
    DOCKER_IMAGE_OPENEDX: `${input.imageRepository ?? DEFAULT_OPENEDX_IMAGE_REPOSITORY}:${settings.release}`,

    LMS_HOST: lms,
    LMS_HOST_ALTS: aliases,
    CMS_HOST: hosts.studio,
    PREVIEW_LMS_HOST: hosts.preview,
    MFE_HOST: hosts.mfe,
    ENABLE_HTTPS: https,
    // TLS ends at our load balancer: Tutor's Caddy must serve plain HTTP and leave certificates alone.
    ENABLE_WEB_PROXY: false,
    CADDY_HTTP_PORT: 80,

    FEATURES: {
      ALLOW_PUBLIC_ACCOUNT_CREATION: features.allowPublicAccountCreation,
      CERTIFICATES_HTML_VIEW: features.enableCertificates,
      ENABLE_DISCUSSION_SERVICE: features.enableDiscussions,
      ENABLE_COURSE_DISCOVERY: features.enableCourseDiscovery,
      ENABLE_THIRD_PARTY_AUTH: features.enableThirdPartyAuth,
    },
    PLUGINS: [...(features.enableDiscussions ? ['forum'] : []), 'mfe', ...(resources.s3 ? ['s3'] : [])],

    ...mysqlVariables(input),
    ...mongodbVariables(input),
    // Redis stays on the appserver in every case: it is a cache (and the Celery broker without RabbitMQ), nothing to keep.
    RUN_REDIS: true,
    ...brokerVariables(input),
    ...s3Variables(input),

    OPENEDX_SECRET_KEY: secrets.OPENEDX_SECRET_KEY,
    JWT_COMMON_AUDIENCE: 'openedx',
    JWT_COMMON_ISSUER: `${scheme}://${lms}/oauth2`,
    JWT_COMMON_SECRET_KEY: secrets.JWT_COMMON_SECRET_KEY,
    JWT_RSA_PRIVATE_KEY: secrets.JWT_RSA_PRIVATE_KEY,
    CMS_OAUTH2_KEY_SSO: 'cms-sso',
    CMS_OAUTH2_SECRET: secrets.CMS_OAUTH2_SECRET,
  }

  const variables = mergeExtraSettings(base, input.extraSettings)
  const secretKeys = new Set(SECRET_VARIABLES.filter((k) => Object.hasOwn(variables, k)))
  for (const path of secretLookingPaths(input.extraSettings)) secretKeys.add(path)

  const localFallbacks = RESOURCE_KINDS.filter((kind) => !resources[kind])
  return { variables, secretKeys: [...secretKeys].sort(), healthPath: OPENEDX_HEALTH_PATH, localFallbacks }
}

function database(kind: string, databases: Record<string, string>, purpose: string): string {
  const name = databases[purpose]
  if (!name) throw new Error(`Open edX render: the ${kind} resource has no "${purpose}" database`)
  return name
}

function mysqlVariables({ resources: { mysql }, secrets }: OpenedxRenderInput): Record<string, unknown> {
  if (!mysql) {
    return {
      RUN_MYSQL: true,
      MYSQL_HOST: 'mysql',
      MYSQL_PORT: 3306,
      MYSQL_ROOT_USERNAME: 'root',
      MYSQL_ROOT_PASSWORD: secrets.MYSQL_ROOT_PASSWORD,
      OPENEDX_MYSQL_DATABASE: 'openedx',
      OPENEDX_MYSQL_USERNAME: 'openedx',
      OPENEDX_MYSQL_PASSWORD: secrets.OPENEDX_MYSQL_PASSWORD,
    }
  }
  return {
    RUN_MYSQL: false,
    MYSQL_HOST: mysql.host,
    MYSQL_PORT: mysql.port,
    // The resources job already made the database and its user; the appserver never holds the cluster's root.
    MYSQL_ROOT_USERNAME: mysql.username,
    MYSQL_ROOT_PASSWORD: mysql.password,
    OPENEDX_MYSQL_DATABASE: database('MySQL', mysql.databases, 'openedx'),
    OPENEDX_MYSQL_USERNAME: mysql.username,
    OPENEDX_MYSQL_PASSWORD: mysql.password,
  }
}

function mongodbVariables({ resources: { mongodb } }: OpenedxRenderInput): Record<string, unknown> {
  if (!mongodb) {
    return {
      RUN_MONGODB: true,
      MONGODB_HOST: 'mongodb',
      MONGODB_PORT: 27017,
      MONGODB_DATABASE: 'openedx',
      MONGODB_USERNAME: '',
      MONGODB_PASSWORD: '',
      MONGODB_AUTH_SOURCE: 'admin',
      MONGODB_REPLICA_SET: '',
      MONGODB_USE_SSL: false,
      FORUM_MONGODB_DATABASE: 'cs_comments_service',
    }
  }
  return {
    RUN_MONGODB: false,
    MONGODB_HOST: mongodb.host,
    MONGODB_PORT: mongodb.port,
    MONGODB_DATABASE: database('MongoDB', mongodb.databases, 'openedx'),
    MONGODB_USERNAME: mongodb.username,
    MONGODB_PASSWORD: mongodb.password,
    MONGODB_AUTH_SOURCE: mongodb.authSource ?? 'admin',
    MONGODB_REPLICA_SET: mongodb.replicaSet ?? '',
    MONGODB_USE_SSL: mongodb.tls ?? false,
    FORUM_MONGODB_DATABASE: database('MongoDB', mongodb.databases, 'forum'),
  }
}

/** edx-platform builds its Celery broker URL from these five parts; CELERY_BROKER_URL is the same, spelled out. */
function brokerVariables({ resources: { rabbitmq } }: OpenedxRenderInput): Record<string, unknown> {
  const broker = rabbitmq
    ? {
        transport: 'amqp',
        hostname: `${rabbitmq.host}:${rabbitmq.port}`,
        vhost: rabbitmq.vhost,
        user: rabbitmq.username,
        password: rabbitmq.password,
      }
    : // Tutor's own default: the appserver's Redis, database 0.
      { transport: 'redis', hostname: 'redis:6379', vhost: '0', user: '', password: '' }
  const tls = rabbitmq?.tls ?? false
  const scheme = tls ? `${broker.transport}s` : broker.transport
  const auth = `${encodeURIComponent(broker.user)}:${encodeURIComponent(broker.password)}`
  return {
    CELERY_BROKER_TRANSPORT: broker.transport,
    CELERY_BROKER_HOSTNAME: broker.hostname,
    CELERY_BROKER_VHOST: broker.vhost,
    CELERY_BROKER_USER: broker.user,
    CELERY_BROKER_PASSWORD: broker.password,
    CELERY_BROKER_USE_SSL: tls,
    CELERY_BROKER_URL: `${scheme}://${auth}@${broker.hostname}/${encodeURIComponent(broker.vhost)}`,
  }
}

/** The names of the tutor-contrib-s3 plugin. Without a bucket the plugin stays off and files stay on the appserver's disk. */
function s3Variables({ resources: { s3 } }: OpenedxRenderInput): Record<string, unknown> {
  if (!s3) return {}
  const endpoint = s3.endpoint ? new URL(s3.endpoint) : undefined
  return {
    S3_HOST: endpoint?.hostname ?? '',
    S3_PORT: endpoint?.port ? Number(endpoint.port) : '',
    S3_USE_SSL: endpoint ? endpoint.protocol === 'https:' : true,
    S3_REGION: s3.region,
    S3_ADDRESSING_STYLE: s3.pathStyle ? 'path' : 'auto',
    S3_SIGNATURE_VERSION: 's3v4',
    // One bucket per instance (its credentials reach no other); operators can split them with extra settings.
    S3_STORAGE_BUCKET: s3.bucket,
    S3_FILE_UPLOAD_BUCKET: s3.bucket,
    S3_PROFILE_IMAGE_BUCKET: s3.bucket,
    S3_GRADE_BUCKET: s3.bucket,
    OPENEDX_AWS_ACCESS_KEY: s3.accessKeyId,
    OPENEDX_AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
  }
}

const isMapping = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v)

/**
 * Extra settings over the rendered base: mappings merge key by key; anything else replaces. Inputs are left
 * untouched and the result shares nothing with them, so a frozen configuration cannot change under its owner.
 */
export function mergeExtraSettings(base: Record<string, unknown>, extra: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(base)) setOwn(out, k, structuredClone(v))
  for (const [k, v] of Object.entries(extra)) {
    const current = out[k]
    const merge = Object.hasOwn(out, k) && isMapping(current) && isMapping(v)
    setOwn(out, k, merge ? mergeExtraSettings(current, v) : structuredClone(v))
  }
  return out
}

// A YAML key "__proto__" would otherwise set the object's prototype instead of adding a key.
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true })
}

function secretLookingPaths(value: Record<string, unknown>, prefix = ''): string[] {
  return Object.entries(value).flatMap(([k, v]) => {
    const path = prefix + k
    if (SECRET_LOOKING_KEY.test(k)) return [path]
    return isMapping(v) ? secretLookingPaths(v, path + '.') : []
  })
}

// ---------------------------------------------------------------------------------------------
// Secrets

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
// Bytes at or above this are dropped, so every character is equally likely (256 is not a multiple of 62).
const UNBIASED_LIMIT = 256 - (256 % ALPHABET.length)

/** Letters and digits only: safe unquoted in YAML, URLs, shell and MySQL. */
export function randomToken(length: number, randomBytes: RandomBytes): string {
  let out = ''
  while (out.length < length) {
    for (const byte of randomBytes(length)) {
      if (byte < UNBIASED_LIMIT && out.length < length) out += ALPHABET[byte % ALPHABET.length]
    }
  }
  return out
}

export const nodeRsaPrivateKey: RsaPrivateKeyGenerator = (bits) =>
  generateKeyPairSync('rsa', {
    modulusLength: bits,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    // PKCS#1 ("BEGIN RSA PRIVATE KEY") is what Tutor generates and reads for JWT_RSA_PRIVATE_KEY.
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  }).privateKey

/**
 * The full secret set: every existing value is returned unchanged (sessions and tokens must survive
 * redeploys), including ones no longer declared; only missing or empty ones are generated.
 */
export function generateMissingSecrets(
  specs: readonly SecretSpec[],
  existing: Record<string, string>,
  randomBytes: RandomBytes,
  rsaPrivateKey: RsaPrivateKeyGenerator = nodeRsaPrivateKey,
): Record<string, string> {
  const out = { ...existing }
  for (const spec of specs) {
    if (out[spec.name]) continue
    out[spec.name] = spec.kind === 'random' ? randomToken(spec.length, randomBytes) : rsaPrivateKey(spec.bits)
  }
  return out
}

export function generateMissingOpenedxSecrets(
  existing: Record<string, string>,
  randomBytes: RandomBytes,
  rsaPrivateKey?: RsaPrivateKeyGenerator,
): Record<string, string> {
  return generateMissingSecrets(OPENEDX_SECRETS, existing, randomBytes, rsaPrivateKey)
}
