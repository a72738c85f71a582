import type { Config } from '@/lib/config'
import { createConsulRouter } from '@/provisioners/consul/router'
import type { Router } from '@/provisioners/types'
import { createDirectRouter } from './direct-router'

/** The `consul` router when Consul is configured (CONSUL_HTTP_ADDR), else the default setup's `direct` one. */
export function createRouter(config: Config): Router {
  if (!config.consul) return createDirectRouter()
  return createConsulRouter({
    address: config.consul.address,
    token: config.consul.token,
    prefix: config.consul.prefix,
    timeoutMs: config.providerTimeoutMs,
    applyTimeoutMs: config.routing.applyTimeoutMs,
    agentStaleMs: config.routing.agentStaleMs,
  })
}
