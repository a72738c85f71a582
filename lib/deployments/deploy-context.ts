import { getConfig, requireDatabaseUrl } from '@/lib/config'
import { getDb } from '@/lib/db/client'
import { getJobSender } from '@/lib/jobs/send'
import { getLogger } from '@/lib/log'
import { getSecretBox } from '@/lib/secrets'
import type { DeployContext } from './orchestrator'

/** The request side's deploy context: the process's database, config, secret box and job sender. */
export async function getDeployContext(): Promise<DeployContext> {
  const config = getConfig()
  return {
    db: getDb(),
    config,
    box: getSecretBox(config),
    jobs: await getJobSender(requireDatabaseUrl(config)),
    now: () => new Date(),
    log: getLogger(),
  }
}
