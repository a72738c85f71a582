import { z } from 'zod'
import { defineRoute } from '@/app/api/_lib/route'
import { getResourceContext } from '@/lib/resources/get-resource-context'
import { revealCredentials } from '@/lib/resources/reveal-credentials'
import { ZResourceCredentials } from '@/lib/resources/schemas'

// POST, not GET: reading credentials is an audited action, and must not be cached, prefetched or replayed by a link.
export const POST = defineRoute(
  {
    method: 'POST',
    path: '/api/v1/resources/{id}/credentials',
    summary: "Reveal a resource's credentials (staff; audited)",
    tag: 'Resources',
    auth: 'staff',
    params: z.object({ id: z.string().describe('Resource id') }),
    response: ZResourceCredentials,
    errors: [403, 404, 409],
  },
  async ({ actor, params }) => revealCredentials(await getResourceContext(), actor, params.id),
)
