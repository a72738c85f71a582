import type { Actor } from '@/lib/auth/actor'
import { assertStaff } from '@/lib/auth/policy'
import type { Db } from '@/lib/db/client'
import { likeLiteral } from '@/lib/db/like'
import { firstFreeSlug, slugify, slugProblem } from './slug'

/**
 * The slug a new instance named `name` would get (or whether `slug` is free), for the create form,
 * which shows it and lets staff edit it before creating.
 */
export async function suggestSlug(opts: {
  db: Db
  actor: Actor
  name?: string
  slug?: string
}): Promise<{ slug: string; available: boolean; problem: string | null }> {
  assertStaff(opts.actor)
  const base = opts.slug ?? slugify(opts.name ?? '')
  const problem = slugProblem(base)
  const similar = await opts.db.instance.findMany({
    where: { slug: { startsWith: likeLiteral(base || 'instance') } },
    select: { slug: true },
    take: 1000,
  })
  const taken = new Set(similar.map((s) => s.slug))
  if (opts.slug !== undefined)
    return { slug: base, available: !taken.has(base) && !problem, problem: problem ?? (taken.has(base) ? 'is already taken' : null) }
  const slug = firstFreeSlug(base, taken)
  return { slug, available: true, problem: slugProblem(slug) }
}
