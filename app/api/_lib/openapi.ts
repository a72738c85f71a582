import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi'
import { z } from 'zod'
import { STATUS_OF } from './errors'
import type { RouteHandler } from './route'

const ZErrorBody = z
  .object({
    error: z.object({
      code: z.enum([...(Object.keys(STATUS_OF) as [string, ...string[]]), 'internal']),
      message: z.string(),
      fields: z
        .array(z.object({ field: z.string(), message: z.string() }))
        .optional()
        .describe('Which fields were wrong, for 400s.'),
      current: z.unknown().optional().describe('The current record, for 409s from a stale update.'),
      requestId: z.string().optional(),
    }),
  })
  .meta({ id: 'Error' })

const ERROR_TEXT: Record<number, string> = {
  400: 'Invalid input',
  401: 'Not signed in',
  403: 'Not allowed',
  404: 'Not found (or not yours)',
  409: 'Conflict',
  410: 'Gone',
  429: 'Too many requests',
}

/** The OpenAPI 3.1 document, generated from the same zod schemas the route handlers parse with. */
export function buildOpenApiDocument(handlers: RouteHandler[], serverUrl: string) {
  const registry = new OpenAPIRegistry()
  registry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    description: 'API token from the console or `npm run admin -- create-token`',
  })
  registry.registerComponent('securitySchemes', 'session', { type: 'apiKey', in: 'cookie', name: 'better-auth.session_token' })
  for (const { spec } of handlers) {
    const errors = [400, ...(spec.auth === 'public' ? [] : [401]), ...(spec.errors ?? [])]
    const successStatus = spec.status ?? 200
    registry.registerPath({
      method: spec.method.toLowerCase() as 'get',
      path: spec.path,
      summary: spec.summary,
      tags: [spec.tag],
      security: spec.auth === 'public' ? [] : [{ bearer: [] }, { session: [] }],
      request: {
        params: spec.params as z.ZodObject | undefined,
        query: spec.query as z.ZodObject | undefined,
        body: spec.body ? { content: { 'application/json': { schema: spec.body } } } : undefined,
      },
      responses: {
        [successStatus]: spec.response
          ? { description: 'Success', content: { 'application/json': { schema: spec.response } } }
          : { description: spec.path.endsWith('/events') ? 'text/event-stream of change events' : 'Success' },
        ...Object.fromEntries(
          errors.map((s) => [s, { description: ERROR_TEXT[s] ?? 'Error', content: { 'application/json': { schema: ZErrorBody } } }]),
        ),
      },
    })
  }
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'Tenon API',
      version: '1',
      description:
        'Control plane for hosting many isolated instances of a learning platform. Errors are `{error: {code, message, fields?}}`.',
    },
    servers: [{ url: serverUrl }],
  })
}
