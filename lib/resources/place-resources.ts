import { randomInt } from 'node:crypto'
import { v7 as uuidv7 } from 'uuid'
import { getBlueprint } from '@/lib/blueprints'
import type { Prisma, Resource } from '@/lib/db/generated/client'
import type { Blueprint, ResourceKind } from '@/lib/db/generated/enums'
import type { SecretBox } from '@/lib/secrets'
import { RESOURCE_KINDS } from '@/provisioners/types'
import { resourceNames } from './resource-names'
import { LIVE_STATES } from './resource-states'

type Tx = Prisma.TransactionClient

export interface ClusterLoad {
  id: string
  name: string
  /** live resources placed on it */
  load: number
}

/** The least-loaded cluster (ties: by name, so placement is predictable), or undefined when there is none. */
export function chooseCluster<T extends ClusterLoad>(candidates: readonly T[]): T | undefined {
  return [...candidates].sort((a, b) => a.load - b.load || a.name.localeCompare(b.name))[0]
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'

/** A 32-character password from the CSPRNG (190 bits), letters and digits only so it survives any URI or config file. */
export function generatePassword(length = 32): string {
  let out = ''
  for (let i = 0; i < length; i++) out += ALPHABET[randomInt(ALPHABET.length)]
  return out
}

/** The kinds of resource a blueprint needs. */
export function neededKinds(blueprint: Blueprint): ResourceKind[] {
  const needs = getBlueprint(blueprint).resourceNeeds
  return RESOURCE_KINDS.filter((kind) => needs[kind] !== undefined)
}

/**
 * Places each resource the instance's blueprint needs and does not have yet on the least-loaded cluster of its
 * kind that accepts new instances, with its names and password decided now (stored before anything is created).
 * Kinds with no cluster are left out: the instance shows them as "not configured" and runs without them.
 * Placement of one kind is serialised by a transaction-level advisory lock so concurrent creations spread evenly.
 */
export async function placeResources(
  tx: Tx,
  opts: { instance: { id: string; slug: string; blueprint: Blueprint }; ownerTag: string; box: SecretBox; kinds?: ResourceKind[] },
): Promise<Resource[]> {
  const { instance } = opts
  const existing = await tx.resource.findMany({
    where: { instanceId: instance.id, state: { in: [...LIVE_STATES] } },
    select: { kind: true },
  })
  const have = new Set(existing.map((r) => r.kind))
  const needs = getBlueprint(instance.blueprint).resourceNeeds
  const placed: Resource[] = []
  for (const kind of opts.kinds ?? neededKinds(instance.blueprint)) {
    if (have.has(kind)) continue
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${'tenon.resources.place.' + kind}))`
    const loads = await tx.$queryRaw<ClusterLoad[]>`
      SELECT c.id, c.name, count(r.id)::int AS load
      FROM clusters c
      LEFT JOIN resources r ON r.cluster_id = c.id AND r.state <> 'destroyed'
      WHERE c.kind = ${kind}::resource_kind AND c.accepts_new
      GROUP BY c.id, c.name`
    const cluster = chooseCluster(loads)
    if (!cluster) continue
    const id = uuidv7()
    placed.push(
      await tx.resource.create({
        data: {
          id,
          instanceId: instance.id,
          kind,
          clusterId: cluster.id,
          names: resourceNames({
            kind,
            ownerTag: opts.ownerTag,
            slug: instance.slug,
            resourceId: id,
            databasePurposes: needs[kind]?.databases ?? [],
          }) as Prisma.InputJsonValue,
          password: opts.box.encrypt(generatePassword()),
          nextAttemptAt: new Date(),
        },
      }),
    )
  }
  return placed
}
