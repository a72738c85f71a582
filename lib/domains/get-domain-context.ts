import { getConfig, requireDatabaseUrl } from '@/lib/config'
import { getDb } from '@/lib/db/client'
import { createOrchestrator } from '@/lib/deployments/create-orchestrator'
import { getJobSender } from '@/lib/jobs/send'
import { getLogger } from '@/lib/log'
import { getRouter } from '@/lib/routing/get-router'
import { createDomainContext, type DomainContext } from './domain-context'

const globalForDomains = globalThis as unknown as { tenonDomainContext?: Promise<DomainContext> }

/** The request side's domain context, one per process (its router and DNS client are reused). */
export function getDomainContext(): Promise<DomainContext> {
  globalForDomains.tenonDomainContext ??= (async () => {
    const config = getConfig()
    const jobs = await getJobSender(requireDatabaseUrl(config))
    return createDomainContext(createOrchestrator({ db: getDb(), config, log: getLogger(), jobs, router: getRouter() }))
  })()
  return globalForDomains.tenonDomainContext
}
