import { z } from 'zod'
import { OPENEDX_RELEASES } from '@/lib/blueprints/openedx'

export const ZRolloutSelection = z
  .object({
    organizationId: z.uuid().optional().describe('Only instances of this organization.'),
    release: z.enum(OPENEDX_RELEASES).optional().describe('Only instances whose settings name this release.'),
    olderThanDays: z
      .number()
      .int()
      .min(0)
      .max(3650)
      .optional()
      .describe('Only instances whose active deployment is at least this many days old (or that have none).'),
    instanceIds: z.array(z.uuid()).min(1).max(10_000).optional().describe('Only these instances.'),
  })
  .strict()
  .describe('Which instances a rollout redeploys; every given filter applies. Archived instances are never selected.')

export type TRolloutSelection = z.infer<typeof ZRolloutSelection>

export const ZCreateRolloutRequest = z
  .object({
    selection: ZRolloutSelection,
    concurrency: z.number().int().min(1).max(500).default(5).describe('Instances redeployed at once.'),
    failureBudgetPercent: z
      .number()
      .int()
      .min(0)
      .max(100)
      .default(10)
      .describe('Pause when more than this percentage of the selected instances fail.'),
  })
  .strict()

export type TCreateRolloutRequest = z.infer<typeof ZCreateRolloutRequest>

export const ZRolloutCounts = z.object({
  pending: z.number().int(),
  deploying: z.number().int(),
  succeeded: z.number().int(),
  failed: z.number().int(),
  skipped: z.number().int(),
  cancelled: z.number().int(),
})

export const ZRollout = z.object({
  id: z.uuid(),
  status: z.enum(['running', 'paused', 'cancelled', 'completed']),
  selection: ZRolloutSelection,
  concurrency: z.number().int(),
  failureBudgetPercent: z.number().int(),
  total: z.number().int(),
  counts: ZRolloutCounts,
  pausedReason: z.string().nullable(),
  createdBy: z.string(),
  createdAt: z.string(),
  finishedAt: z.string().nullable(),
})

export type TRollout = z.infer<typeof ZRollout>

export const ZRolloutItem = z.object({
  instance: z.object({ id: z.uuid(), slug: z.string(), name: z.string() }),
  position: z.number().int(),
  status: z.enum(['pending', 'deploying', 'succeeded', 'failed', 'skipped', 'cancelled']),
  deploymentId: z.uuid().nullable(),
  error: z.string().nullable(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
})

export const ZRolloutAction = z.object({ action: z.enum(['pause', 'resume', 'cancel']).describe('What to do with the rollout.') }).strict()
