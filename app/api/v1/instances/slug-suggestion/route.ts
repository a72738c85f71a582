import { z } from 'zod'
import { defineRoute } from '@/app/api/_lib/route'
import { suggestSlug } from '@/lib/instances/suggest-slug'

export const GET = defineRoute(
  {
    method: 'GET',
    path: '/api/v1/instances/slug-suggestion',
    summary: 'Suggest a free slug for a name, or check a slug (staff)',
    tag: 'Instances',
    auth: 'staff',
    query: z.object({ name: z.string().max(100).optional(), slug: z.string().max(100).optional() }),
    response: z.object({ slug: z.string(), available: z.boolean(), problem: z.string().nullable() }),
  },
  ({ actor, query, ctx }) => suggestSlug({ db: ctx.db, actor, name: query.name, slug: query.slug }),
)
