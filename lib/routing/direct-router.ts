import type { Router } from '@/provisioners/types'

/**
 * The default setup has no load balancer: there is nothing outside to tell, and people reach an instance at its
 * first active appserver's own address (lib/routing/record-route.ts keeps it for the console's "Open site").
 */
export function createDirectRouter(): Router {
  return {
    kind: 'direct',
    async publish() {},
    async remove() {},
    siteUrl: (routing) => routing.backends.find((b) => b.role === 'active')?.address ?? null,
  }
}
