import { z } from 'zod'

/** The parts of API responses the console's forms read (the full shapes are in /api/v1/openapi.json). */
export const ZCreatedResource = z.object({ id: z.string() })

export const ZSlugSuggestion = z.object({ slug: z.string(), available: z.boolean(), problem: z.string().nullable() })

export const ZCreatedToken = z.object({ token: z.string(), apiToken: z.object({ name: z.string() }) })

export const ZInvitationCreated = z.object({
  link: z.string(),
  delivery: z.enum(['sent', 'logged']),
  invitation: z.object({ email: z.string(), role: z.string() }),
})
export type TInvitationCreated = z.infer<typeof ZInvitationCreated>

/** GET /api/v1/instances/{id}/deployments/preview: what a redeploy would change, secrets masked by the server. */
export const ZDeploymentPreview = z.object({
  activeDeployment: z.number().int().nullable(),
  changes: z.array(
    z.object({
      path: z.string(),
      kind: z.enum(['added', 'removed', 'changed']),
      before: z.unknown().optional(),
      after: z.unknown().optional(),
    }),
  ),
})
export type TDeploymentPreview = z.infer<typeof ZDeploymentPreview>

export const ZDeploymentStarted = z.object({ id: z.string(), number: z.number().int() })

export const ZAppserverLogLine = z.object({
  id: z.string(),
  at: z.string(),
  kind: z.enum(['transition', 'info', 'error']),
  fromState: z.string().nullable(),
  toState: z.string().nullable(),
  message: z.string(),
})
export type TAppserverLogLine = z.infer<typeof ZAppserverLogLine>

/** GET /api/v1/appservers/{id}/log */
export const ZAppserverLogPage = z.object({ items: z.array(ZAppserverLogLine), last: z.string().nullable() })
