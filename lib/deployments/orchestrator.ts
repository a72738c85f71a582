import type { Logger } from 'pino'
import type { Config } from '@/lib/config'
import type { Db } from '@/lib/db/client'
import type { VmDriverKind } from '@/lib/db/generated/enums'
import type { JobSender } from '@/lib/jobs/send'
import type { SecretBox } from '@/lib/secrets'
import type { Router, VmDriver } from '@/provisioners/types'

/**
 * Everything the deployment and appserver steps need, built once per process (lib/deployments/
 * create-orchestrator.ts) and passed down: the functions stay testable with real services.
 */
export interface Orchestrator {
  db: Db
  config: Config
  box: SecretBox
  /** the driver for a kind; throws a clear error when that driver is not configured */
  driver(kind: VmDriverKind): VmDriver
  router: Router
  jobs: JobSender
  log: Logger
  now(): Date
}

/** What starting, cancelling and rolling back a deployment needs (the API's side: no drivers, no router). */
export type DeployContext = Pick<Orchestrator, 'db' | 'config' | 'box' | 'jobs' | 'now' | 'log'>
