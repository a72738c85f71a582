import type { Actor } from '@/lib/auth/actor'
import type { Db } from '@/lib/db/client'
import { DomainError } from '@/lib/errors'
import { getOrganization } from '@/lib/organizations/list-organizations'

/** Names of the organizations the actor may read among `ids`, for tables that show an organization column. */
export async function organizationNames(db: Db, actor: Actor, ids: Iterable<string | null>): Promise<Record<string, string>> {
  const unique = [...new Set([...ids].filter((id): id is string => !!id))]
  const entries = await Promise.all(
    unique.map(async (id) => {
      try {
        return [id, (await getOrganization({ db, actor, id })).name] as const
      } catch (err) {
        if (err instanceof DomainError && err.code === 'not_found') return null
        throw err
      }
    }),
  )
  return Object.fromEntries(entries.filter((e) => e !== null))
}
