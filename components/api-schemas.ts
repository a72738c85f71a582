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
