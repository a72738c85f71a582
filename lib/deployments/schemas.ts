import { z } from 'zod'
import { APPSERVER_STATES } from '@/lib/appservers/appserver-states'
import { DEPLOYMENT_STATUSES } from './deployment-states'

export const ZAppserverState = z.enum(APPSERVER_STATES as [string, ...string[]])

export const ZAppserverSummary = z.object({
  id: z.uuid(),
  index: z.number().int().describe('1..N within its deployment'),
  driver: z.enum(['local', 'ovh', 'nomad']),
  state: ZAppserverState,
  stateChangedAt: z.string(),
  address: z.string().nullable().describe('Base URL the appserver answers on (staff only).'),
  failedPhase: ZAppserverState.nullable(),
  error: z.string().nullable(),
  createdAt: z.string(),
  terminatedAt: z.string().nullable(),
})

export const ZDeployment = z.object({
  id: z.uuid(),
  instanceId: z.uuid(),
  number: z.number().int(),
  status: z.enum(DEPLOYMENT_STATUSES as [string, ...string[]]),
  trigger: z.enum(['deploy', 'rollback', 'rollout']),
  driver: z.enum(['local', 'ovh', 'nomad']),
  release: z.string().nullable(),
  appserverCount: z.number().int(),
  rollbackOfId: z.uuid().nullable(),
  rolloutId: z.uuid().nullable(),
  requestedBy: z.string(),
  error: z.string().nullable(),
  createdAt: z.string(),
  activatedAt: z.string().nullable(),
  supersededAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  appservers: z.array(ZAppserverSummary),
})

export type TDeployment = z.infer<typeof ZDeployment>
export type TAppserverSummary = z.infer<typeof ZAppserverSummary>

export const ZConfigurationChange = z.object({
  path: z.string(),
  kind: z.enum(['added', 'removed', 'changed']),
  before: z.unknown().optional(),
  after: z.unknown().optional(),
})

export const ZDeploymentPreview = z.object({
  activeDeployment: z
    .number()
    .int()
    .nullable()
    .describe('Number of the active deployment the changes are relative to; null before the first.'),
  changes: z.array(ZConfigurationChange).describe('What a new deployment would change, secrets masked.'),
  configuration: z.record(z.string(), z.unknown()).describe('The configuration a new deployment would freeze, secrets masked.'),
})

export const ZCreateDeploymentRequest = z
  .object({
    action: z
      .enum(['deploy', 'rollback'])
      .default('deploy')
      .describe('deploy: build from the current settings; rollback: bring back an earlier deployment.'),
    deploymentId: z.uuid().optional().describe('rollback only: the deployment to bring back (default: the one active before the current).'),
  })
  .strict()

export const ZAppserverDetail = ZAppserverSummary.extend({
  deploymentId: z.uuid(),
  deploymentNumber: z.number().int(),
  instanceId: z.uuid(),
  externalId: z.string().nullable(),
  healthPath: z.string(),
  configuration: z.record(z.string(), z.unknown()).nullable().describe('The frozen configuration, secrets masked (staff only).'),
})

export const ZAppserverLogLine = z.object({
  id: z.string(),
  at: z.string(),
  kind: z.enum(['transition', 'info', 'error']),
  fromState: ZAppserverState.nullable(),
  toState: ZAppserverState.nullable(),
  message: z.string(),
})
