import { getConfig } from '@/lib/config'
import type { Router } from '@/provisioners/types'
import { createRouter } from './create-router'

const globalForRouter = globalThis as unknown as { tenonRouter?: Router }

/** The request side's router (to read the load balancers' state), one per process. */
export function getRouter(): Router {
  globalForRouter.tenonRouter ??= createRouter(getConfig())
  return globalForRouter.tenonRouter
}
