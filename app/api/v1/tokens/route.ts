import { z } from 'zod'
import { defineRoute } from '@/app/api/_lib/route'
import { createApiToken, listApiTokens, ZApiToken, ZCreateApiTokenRequest } from '@/lib/tokens/api-tokens'

export const GET = defineRoute(
  {
    method: 'GET',
    path: '/api/v1/tokens',
    summary: 'List API tokens (your own; staff see all)',
    tag: 'API tokens',
    auth: 'user',
    response: z.object({ items: z.array(ZApiToken) }),
  },
  async ({ actor, ctx }) => ({ items: await listApiTokens({ db: ctx.db, actor }) }),
)

export const POST = defineRoute(
  {
    method: 'POST',
    path: '/api/v1/tokens',
    summary: 'Create an API token for yourself; the token is returned once',
    tag: 'API tokens',
    auth: 'user',
    body: ZCreateApiTokenRequest,
    response: z.object({ token: z.string(), apiToken: ZApiToken }),
    status: 201,
  },
  ({ actor, body, ctx }) => createApiToken({ db: ctx.db, actor, userId: actor.userId, name: body.name }),
)
