import type { OwnedResourceObject, ResourceNames } from '@/provisioners/types'

/** Every name a resource's objects go by, as `type:name` keys comparable with what a provisioner lists. */
export function knownObjectKeys(names: readonly ResourceNames[]): Set<string> {
  const keys = new Set<string>()
  for (const n of names) {
    if (n.username) for (const type of ['user', 'iam-user']) keys.add(`${type}:${n.username}`)
    for (const db of Object.values(n.databases ?? {})) keys.add(`database:${db}`)
    if (n.vhost) keys.add(`vhost:${n.vhost}`)
    if (n.bucket) keys.add(`bucket:${n.bucket}`)
  }
  return keys
}

/**
 * The objects on a cluster that carry this installation's owner tag but belong to no live resource: left by a
 * destroy that was interrupted, or by a record removed by hand. `known` must be read after `found` was listed
 * (a resource's record is committed before its objects are created, so nothing being created can look orphaned).
 */
export function planOrphans(found: readonly OwnedResourceObject[], known: Set<string>): OwnedResourceObject[] {
  return found.filter((o) => !known.has(`${o.type}:${o.name}`))
}

/** The partial names `destroy` takes to remove one orphaned object. */
export function orphanNames(o: OwnedResourceObject): ResourceNames {
  switch (o.type) {
    case 'database':
      return { databases: { orphan: o.name } }
    case 'user':
    case 'iam-user':
      return { username: o.name }
    case 'vhost':
      return { vhost: o.name }
    case 'bucket':
      return { bucket: o.name }
  }
}
