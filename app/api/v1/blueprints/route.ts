import { z } from 'zod'
import { defineRoute } from '@/app/api/_lib/route'
import { BLUEPRINTS } from '@/lib/blueprints'

export const GET = defineRoute(
  {
    method: 'GET',
    path: '/api/v1/blueprints',
    summary: 'Blueprints and the JSON Schema of their settings',
    tag: 'Instances',
    auth: 'user',
    response: z.object({
      items: z.array(z.object({ id: z.string(), label: z.string(), settingsSchema: z.record(z.string(), z.unknown()) })),
    }),
  },
  async () => ({
    items: Object.values(BLUEPRINTS).map((b) => ({
      id: b.id,
      label: b.label,
      settingsSchema: z.toJSONSchema(b.settingsSchema, { io: 'input' }) as Record<string, unknown>,
    })),
  }),
)
