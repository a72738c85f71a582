import { randomUUID } from 'node:crypto'
import type { z } from 'zod'
import type { UserActor } from '@/lib/auth/actor'
import { resolveActor } from '@/lib/auth/resolve-actor'
import { assertStaff } from '@/lib/auth/policy'
import { DomainError, invalidInput } from '@/lib/errors'
import { getMetrics } from '@/lib/metrics'
import { appContext, type AppContext } from './context'
import { errorResponse, fieldsOf } from './errors'

type Method = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE'
type AnySchema = z.ZodType

/**
 * auth: "public" needs nobody; "optional" resolves an actor if there is one; "user" needs a signed-in
 * user or API token; "staff" needs staff. Finer checks (tenancy, owners) live in lib/.
 */
export type AuthMode = 'public' | 'optional' | 'user' | 'staff'

export interface RouteSpec<
  P extends AnySchema | undefined,
  Q extends AnySchema | undefined,
  B extends AnySchema | undefined,
  R extends AnySchema | undefined,
> {
  method: Method
  /** OpenAPI path template, e.g. /api/v1/instances/{id} (also the metrics label) */
  path: string
  summary: string
  tag: string
  auth: AuthMode
  params?: P
  query?: Q
  body?: B
  response?: R
  /** success status; 200 unless given */
  status?: 200 | 201 | 202 | 204
  /** error statuses this route can answer besides 400/401/500, for the OpenAPI document */
  errors?: number[]
}

type Infer<S> = S extends AnySchema ? z.infer<S> : undefined
type ActorFor<A extends AuthMode> = A extends 'user' | 'staff' ? UserActor : UserActor | null

export interface HandlerArgs<A extends AuthMode, P, Q, B> {
  actor: ActorFor<A>
  params: P
  query: Q
  body: B
  request: Request
  ctx: AppContext
}

export type RouteHandler = ((request: Request, context: { params: Promise<Record<string, string | string[]>> }) => Promise<Response>) & {
  spec: RouteSpec<AnySchema | undefined, AnySchema | undefined, AnySchema | undefined, AnySchema | undefined>
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

/**
 * Builds a route handler: authenticates, checks CSRF for cookie sessions, parses params, query and body
 * with zod (a bad field is a 400 naming it), calls one lib/ function, maps domain errors, and records
 * latency. A route file then reads in ten lines.
 */
export function defineRoute<
  A extends AuthMode,
  P extends AnySchema | undefined = undefined,
  Q extends AnySchema | undefined = undefined,
  B extends AnySchema | undefined = undefined,
  R extends AnySchema | undefined = undefined,
>(
  spec: RouteSpec<P, Q, B, R> & { auth: A },
  handler: (args: HandlerArgs<A, Infer<P>, Infer<Q>, Infer<B>>) => Promise<(R extends AnySchema ? z.input<R> : unknown) | Response>,
): RouteHandler {
  const run = async (request: Request, context: { params: Promise<Record<string, string | string[]>> }): Promise<Response> => {
    const started = performance.now()
    const requestId = randomUUID()
    let response: Response
    try {
      const ctx = appContext()
      let actor: UserActor | null = null
      if (spec.auth !== 'public') {
        actor = await resolveActor({ db: ctx.db, auth: ctx.auth, headers: request.headers })
        if (!actor && (spec.auth === 'user' || spec.auth === 'staff')) {
          throw new DomainError('unauthenticated', 'Sign in, or send an API token as "Authorization: Bearer TOKEN"')
        }
        if (actor && spec.auth === 'staff') assertStaff(actor)
        if (actor && !actor.apiTokenId && !SAFE_METHODS.has(request.method)) assertSameOrigin(request, ctx.config.publicUrl)
      }
      const params = parse(spec.params, await context.params)
      const query = parse(spec.query, Object.fromEntries(new URL(request.url).searchParams))
      const body = spec.body ? parse(spec.body, await readJson(request)) : undefined
      const result = await handler({ actor: actor as ActorFor<A>, params, query, body, request, ctx } as HandlerArgs<
        A,
        Infer<P>,
        Infer<Q>,
        Infer<B>
      >)
      response =
        result instanceof Response
          ? result
          : spec.status === 204
            ? new Response(null, { status: 204 })
            : Response.json(result, { status: spec.status ?? 200 })
    } catch (err) {
      response = errorResponse(err, requestId)
    }
    response.headers.set('x-request-id', requestId)
    response.headers.set('cache-control', 'no-store')
    getMetrics().httpDuration.observe(
      { method: spec.method, route: spec.path, status: String(response.status) },
      (performance.now() - started) / 1000,
    )
    return response
  }
  return Object.assign(run, { spec: spec as RouteHandler['spec'] })
}

function parse<S extends AnySchema | undefined>(schema: S, input: unknown): Infer<S> {
  if (!schema) return undefined as Infer<S>
  const parsed = schema.safeParse(input)
  if (!parsed.success) throw invalidInput(fieldsOf(parsed.error))
  return parsed.data as Infer<S>
}

async function readJson(request: Request): Promise<unknown> {
  const type = request.headers.get('content-type') ?? ''
  if (!type.includes('application/json')) {
    throw new DomainError('invalid_input', 'Send the body as JSON (Content-Type: application/json)', {
      fields: [{ field: 'body', message: 'must be JSON' }],
    })
  }
  const text = await request.text()
  if (text.length > 1024 * 1024) throw invalidInput([{ field: 'body', message: 'must be at most 1 MiB' }])
  try {
    return text ? JSON.parse(text) : {}
  } catch {
    throw invalidInput([{ field: 'body', message: 'is not valid JSON' }])
  }
}

/**
 * Cookie-authenticated writes must come from the console's own pages. SameSite=Lax cookies already keep
 * most cross-site requests out; the Origin check closes the rest. API tokens are not sent by browsers
 * on their own, so token requests skip it.
 */
function assertSameOrigin(request: Request, publicUrl: string): void {
  const origin = request.headers.get('origin')
  const allowed = new Set([new URL(publicUrl).origin, new URL(request.url).origin])
  if (origin ? !allowed.has(origin) : request.headers.get('sec-fetch-site') !== 'same-origin') {
    throw new DomainError('forbidden', 'Cross-site request refused: send writes from the console, or use an API token')
  }
}
