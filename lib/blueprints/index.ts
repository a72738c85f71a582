import type { z } from 'zod'
import type { Blueprint } from '@/lib/db/generated/enums'
import { OPENEDX_RELEASES, ZOpenedxSettings } from './openedx'
import {
  generateMissingOpenedxSecrets,
  OPENEDX_HEALTH_PATH,
  OPENEDX_RESOURCE_NEEDS,
  OPENEDX_SECRETS,
  openedxHostnames,
  renderOpenedxConfiguration,
} from './render-openedx'

// ---------------------------------------------------------------------------------------------
// What a blueprint's render consumes and produces. Shared by every blueprint, so they live here.

/** A MySQL database set of one instance, made by the resources job. `databases` maps a purpose ("openedx") to a name. */
export interface MysqlResource {
  host: string
  port: number
  username: string
  password: string
  databases: Record<string, string>
}

/** A MongoDB user and its databases, by purpose ("openedx", "forum"). */
export interface MongodbResource {
  host: string
  port: number
  username: string
  password: string
  databases: Record<string, string>
  /** Database the user is defined in; "admin" when unset. */
  authSource?: string
  replicaSet?: string
  tls?: boolean
}

/** A RabbitMQ vhost and the user that owns it. */
export interface RabbitmqResource {
  host: string
  port: number
  vhost: string
  username: string
  password: string
  tls?: boolean
}

/** An S3 bucket and credentials limited to it. */
export interface S3Resource {
  /** Base URL of an S3-compatible service, e.g. "http://127.0.0.1:4569"; unset means AWS S3 in `region`. */
  endpoint?: string
  region: string
  bucket: string
  accessKeyId: string
  secretAccessKey: string
  /** Address the bucket in the path rather than the hostname (most S3-compatible services need this). */
  pathStyle?: boolean
}

/** The resources provisioned for an instance so far. Each is optional: a render without one says what it fell back to. */
export interface InstanceResources {
  mysql?: MysqlResource
  mongodb?: MongodbResource
  rabbitmq?: RabbitmqResource
  s3?: S3Resource
}

export type ResourceKind = keyof InstanceResources

/** What a blueprint asks of each kind of resource, e.g. the database purposes it reads from `databases`. */
export type ResourceNeeds = { [K in ResourceKind]?: { databases?: readonly string[] } }

/** One secret an instance keeps for its whole life (sessions and tokens survive redeploys because it never changes). */
export type SecretSpec =
  | { name: string; kind: 'random'; length: number; description: string }
  | { name: string; kind: 'rsa-private-key'; bits: number; description: string }

/** A CSPRNG with node:crypto's randomBytes signature; tests pass a deterministic one. */
export type RandomBytes = (size: number) => Uint8Array

/** Makes an RSA private key (PKCS#1 PEM). node:crypto cannot be seeded, so tests may pass their own. */
export type RsaPrivateKeyGenerator = (bits: number) => string

export type HostnameRole = 'lms' | 'studio' | 'preview' | 'mfe'

export interface BlueprintHostname {
  role: HostnameRole
  hostname: string
}

export interface RenderInput<TSettings> {
  instance: { id: string; slug: string; name: string }
  settings: TSettings
  /** The instance's extra settings, already parsed from YAML into a mapping ({} when empty). */
  extraSettings: Record<string, unknown>
  hostingZone: string
  /** A client's verified custom hostnames, served as aliases of the main site. */
  customHostnames?: readonly string[]
  /** The instance's generated secrets (see `secretsToGenerate`), by name. */
  secrets: Record<string, string>
  resources: InstanceResources
  /** Set when rendering for one appserver; leave it out for a deployment's frozen configuration and for previews. */
  appserver?: { id: string }
  /** Whether public URLs are https (TLS ends at the load balancer). Default true. */
  enableHttps?: boolean
  /** Image repository (without tag) of the platform image; the blueprint appends the release as the tag. */
  imageRepository?: string
}

export interface RenderedConfiguration {
  /** Everything an appserver needs, secrets included: never log it; show it through `maskConfiguration`. */
  variables: Record<string, unknown>
  /** Dotted paths in `variables` whose values are secret, for masking. */
  secretKeys: string[]
  /** HTTP path the appserver answers its health check on. */
  healthPath: string
  /** Resources that were not provided, so the appserver runs its own (or stores files locally): data there dies with it. */
  localFallbacks: ResourceKind[]
}

// ---------------------------------------------------------------------------------------------

/**
 * What kind of platform an instance runs. Each blueprint owns the schema of its settings, the resources and
 * secrets it needs, the hostnames it serves and how an appserver's configuration is rendered.
 */
export interface BlueprintDefinition {
  id: Blueprint
  label: string
  settingsSchema: z.ZodType<Record<string, unknown>>
  /** Settings a new instance starts from, before the creator's own values. */
  defaultSettings(input: { name: string; contactEmail?: string }): Record<string, unknown>
  resourceNeeds: ResourceNeeds
  /** The hostnames under the hosting zone an instance serves (DNS records and certificates cover each). */
  hostnames(instance: { slug: string }, hostingZone: string): BlueprintHostname[]
  secretsToGenerate: readonly SecretSpec[]
  /** The full secret set: existing values kept as they are, missing ones generated. */
  generateMissingSecrets(
    existing: Record<string, string>,
    randomBytes: RandomBytes,
    rsaPrivateKey?: RsaPrivateKeyGenerator,
  ): Record<string, string>
  /** Pure: the same input always renders the same configuration. Settings are parsed with `settingsSchema` first. */
  renderConfiguration(input: RenderInput<Record<string, unknown>>): RenderedConfiguration
  healthPath: string
}

export const BLUEPRINTS: Record<Blueprint, BlueprintDefinition> = {
  openedx: {
    id: 'openedx',
    label: 'Open edX',
    settingsSchema: ZOpenedxSettings,
    defaultSettings: ({ name }) => ({ release: OPENEDX_RELEASES[OPENEDX_RELEASES.length - 1], platformName: name }),
    resourceNeeds: OPENEDX_RESOURCE_NEEDS,
    hostnames: openedxHostnames,
    secretsToGenerate: OPENEDX_SECRETS,
    generateMissingSecrets: generateMissingOpenedxSecrets,
    // Stored settings were validated when written; parsing again fills defaults added since (new feature flags).
    renderConfiguration: (input) => renderOpenedxConfiguration({ ...input, settings: ZOpenedxSettings.parse(input.settings) }),
    healthPath: OPENEDX_HEALTH_PATH,
  },
}

export const BLUEPRINT_IDS = Object.keys(BLUEPRINTS) as Blueprint[]

export function getBlueprint(id: Blueprint): BlueprintDefinition {
  return BLUEPRINTS[id]
}
