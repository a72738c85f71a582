import { getDeployContext } from '@/lib/deployments/deploy-context'
import { createResourceContext, type ResourceContext } from './resource-context'

const globalForResources = globalThis as unknown as { tenonResourceContext?: Promise<ResourceContext> }

/** The request side's resource context: one per process, so provisioners (and their connection pools) are reused. */
export function getResourceContext(): Promise<ResourceContext> {
  globalForResources.tenonResourceContext ??= getDeployContext().then((deploy) => createResourceContext(deploy))
  return globalForResources.tenonResourceContext
}
