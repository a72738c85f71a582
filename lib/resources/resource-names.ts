import { createHash } from 'node:crypto'
import { ownedPrefix, type ResourceKind, type ResourceNames } from '@/provisioners/types'

/**
 * The names of one instance's resource on its cluster, decided once when the resource is placed and stored
 * before anything is created. Shape: owner tag + instance slug + a short suffix from the resource's id, so
 * an operator can tell whose database it is, a re-created instance with the same slug never reuses old
 * names, and the reconciler recognises what this installation made (the owner-tag prefix).
 *
 * Limits: MySQL user names 32 characters (MySQL 5.7+; MariaDB allows 80), database names 64; MongoDB database
 * names 63; RabbitMQ names 255; S3 bucket names 63 (lowercase, digits, dashes); IAM user names 64.
 */
const LIMITS = { user: 32, bucket: 63 } as const
const SUFFIX_LENGTH = 6
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567'

/** Six lowercase base32 characters from a hash of the resource id (30 bits: no collision within one slug). */
export function nameSuffix(resourceId: string): string {
  const digest = createHash('sha256').update(resourceId).digest()
  let out = ''
  for (let i = 0; i < SUFFIX_LENGTH; i++) out += BASE32[(digest[i] ?? 0) % 32]
  return out
}

function base(prefix: string, slug: string, suffix: string, separator: '_' | '-', limit: number): string {
  const room = limit - prefix.length - separator.length - suffix.length
  const slugPart = slug
    .replaceAll('-', separator)
    .slice(0, Math.max(room, 0))
    .replace(/[_-]+$/, '')
  return `${prefix}${slugPart}${slugPart ? separator : ''}${suffix}`
}

export interface ResourceNameInput {
  kind: ResourceKind
  ownerTag: string
  slug: string
  resourceId: string
  /** the blueprint's database purposes for this kind, e.g. ["openedx", "forum"] */
  databasePurposes?: readonly string[]
}

export function resourceNames({ kind, ownerTag, slug, resourceId, databasePurposes = [] }: ResourceNameInput): ResourceNames {
  const prefix = ownedPrefix(kind, ownerTag)
  const suffix = nameSuffix(resourceId)
  switch (kind) {
    case 'mysql':
    case 'mongodb': {
      const user = base(prefix, slug, suffix, '_', LIMITS.user)
      return { username: user, databases: Object.fromEntries(databasePurposes.map((purpose) => [purpose, `${user}_${purpose}`])) }
    }
    case 'rabbitmq': {
      const name = base(prefix, slug, suffix, '-', LIMITS.bucket)
      return { vhost: name, username: name }
    }
    case 's3': {
      const name = base(prefix, slug, suffix, '-', LIMITS.bucket)
      return { bucket: name, username: name }
    }
  }
}
