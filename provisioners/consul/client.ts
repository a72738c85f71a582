import http from 'node:http'
import https from 'node:https'
import Consul from 'consul'
import { ProvisionerError } from '../types'

export const CONSUL_PROVIDER = 'Consul'

export interface ConsulConnection {
  /** e.g. "http://127.0.0.1:8500" */
  address: string
  token?: string
  timeoutMs: number
}

/**
 * A client of the `consul` package for one agent address. Its keep-alive agent times out sockets that stay
 * silent for `timeoutMs` (the package's own types have no per-call timeout), so it is for ordinary calls, not for
 * blocking queries, which wait for minutes on purpose.
 */
export function consulClient(connection: ConsulConnection): Consul {
  const url = new URL(connection.address)
  const secure = url.protocol === 'https:'
  const agentOptions = { keepAlive: true, timeout: connection.timeoutMs }
  return new Consul({
    host: url.hostname,
    port: Number(url.port || (secure ? 443 : 80)),
    secure,
    agent: secure ? new https.Agent(agentOptions) : new http.Agent(agentOptions),
    defaults: connection.token ? { token: connection.token } : {},
  })
}

interface ConsulFailure {
  code?: string
  statusCode?: number
  message?: string
  response?: { statusCode?: number; body?: unknown }
}

/** A `consul` call's failure as a ProvisionerError naming the operation; never includes the token. */
export function consulError(operation: string, err: unknown, address: string): ProvisionerError {
  const e = (typeof err === 'object' && err !== null ? err : {}) as ConsulFailure
  const status = e.statusCode ?? e.response?.statusCode
  const message = e.message ?? String(err)
  if (status === 403 || status === 401)
    return new ProvisionerError(CONSUL_PROVIDER, operation, `${address} refused the ACL token (${status}: ${message})`)
  if (status !== undefined && status >= 500)
    return new ProvisionerError(CONSUL_PROVIDER, operation, `${address} answered ${status}: ${message}`, true)
  if (status === undefined) return new ProvisionerError(CONSUL_PROVIDER, operation, `cannot reach ${address}: ${message}`, true)
  return new ProvisionerError(CONSUL_PROVIDER, operation, `${address} answered ${status}: ${message}`, status === 429)
}

/** Runs one Consul call, turning its failure into a ProvisionerError. */
export async function consulCall<T>(operation: string, address: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call()
  } catch (err) {
    throw consulError(operation, err, address)
  }
}
