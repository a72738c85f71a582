import { z } from 'zod'
import { defineRoute } from '@/app/api/_lib/route'
import { claimSetup, needsSetup } from '@/lib/setup/setup-code'

export const GET = defineRoute(
  {
    method: 'GET',
    path: '/api/v1/setup',
    summary: 'Whether the first staff account still has to be created',
    tag: 'Setup',
    auth: 'public',
    response: z.object({ needed: z.boolean() }),
  },
  async ({ ctx }) => ({ needed: await needsSetup(ctx.db) }),
)

export const POST = defineRoute(
  {
    method: 'POST',
    path: '/api/v1/setup',
    summary: 'Create the first staff account with the one-time code printed in the server log',
    tag: 'Setup',
    auth: 'public',
    body: z.object({ code: z.string().max(100), email: z.string(), name: z.string(), password: z.string() }).strict(),
    response: z.object({ userId: z.string() }),
    status: 201,
    errors: [410],
  },
  ({ body, ctx }) => claimSetup({ db: ctx.db, code: body.code, user: { email: body.email, name: body.name, password: body.password } }),
)
