import ovh from 'ovh'
import type { z } from 'zod'
import { ProvisionerError } from '../../types'

const PROVIDER = 'ovh'

/** The API names the official client knows (its lib/endpoints.js). */
const KNOWN_ENDPOINTS = [
  'ovh-eu',
  'ovh-ca',
  'ovh-us',
  'sys-eu',
  'sys-ca',
  'soyoustart-eu',
  'soyoustart-ca',
  'ks-eu',
  'ks-ca',
  'kimsufi-eu',
  'kimsufi-ca',
]

export interface OvhApiOptions {
  /** "ovh-eu" (or another name the client knows), or an https:// base URL such as https://host:port/1.0 */
  endpoint: string
  appKey: string
  appSecret: string
  consumerKey: string
  requestTimeoutMs: number
}

/** A failed OVH call. `status` is the HTTP status when the API answered, undefined for network failures. */
export class OvhRequestError extends ProvisionerError {
  constructor(
    operation: string,
    message: string,
    readonly status: number | undefined,
    retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(PROVIDER, operation, message, retryable, options)
    this.name = 'OvhRequestError'
  }
}

export type OvhMethod = 'GET' | 'POST' | 'DELETE'

export interface OvhApi {
  /**
   * Sends one signed call and checks the answer against `schema`. Throws an OvhRequestError naming the
   * operation: retryable for timeouts, network failures, 429 and 5xx.
   */
  call<T>(operation: string, method: OvhMethod, path: string, params: Record<string, unknown> | undefined, schema: z.ZodType<T>): Promise<T>
}

export function createOvhApi(options: OvhApiOptions): OvhApi {
  const client = ovh({
    appKey: options.appKey,
    appSecret: options.appSecret,
    consumerKey: options.consumerKey,
    timeout: options.requestTimeoutMs,
    ...endpointParams(options.endpoint),
  })

  return {
    async call(operation, method, path, params, schema) {
      const signal = AbortSignal.timeout(options.requestTimeoutMs)
      let answer: unknown
      try {
        // The client cannot be cancelled; its own socket timeout tears the request down, and this race makes
        // sure the caller is answered on time even when the time-delta call that precedes the first request hangs.
        answer = await new Promise<unknown>((resolve, reject) => {
          signal.addEventListener('abort', () => reject(signal.reason), { once: true })
          client.requestPromised(method, path, params === undefined ? undefined : { ...params }).then(resolve, reject)
        })
      } catch (error) {
        throw toRequestError(operation, error, options.requestTimeoutMs)
      }
      const parsed = schema.safeParse(answer)
      if (!parsed.success) {
        throw new OvhRequestError(
          operation,
          `unexpected answer: ${parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`,
          200,
          false,
        )
      }
      return parsed.data
    },
  }
}

function endpointParams(endpoint: string): { endpoint?: string; host?: string; port?: number; basePath?: string } {
  if (KNOWN_ENDPOINTS.includes(endpoint)) return { endpoint }
  let url: URL
  try {
    url = new URL(endpoint)
  } catch {
    throw new ProvisionerError(
      PROVIDER,
      'setup',
      `endpoint must be one of ${KNOWN_ENDPOINTS.join(', ')} or an https:// URL, got "${endpoint}"`,
    )
  }
  // The official client always connects with TLS; a plain-HTTP endpoint could never answer it.
  if (url.protocol !== 'https:')
    throw new ProvisionerError(PROVIDER, 'setup', `endpoint URL must use https:// (the OVH client only speaks HTTPS)`)
  const basePath = url.pathname.replace(/\/+$/, '')
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port === '' ? 443 : Number(url.port),
    basePath: basePath === '' ? '/1.0' : basePath,
  }
}

function toRequestError(operation: string, error: unknown, timeoutMs: number): OvhRequestError {
  if (error instanceof DOMException && error.name === 'TimeoutError') {
    return new OvhRequestError(operation, `no answer within ${timeoutMs} ms`, undefined, true, { cause: error })
  }
  const { code, message } = rejection(error)
  if (typeof code === 'number' && code >= 100 && code <= 599) {
    const detail = message ? `: ${message}` : ''
    return new OvhRequestError(operation, `HTTP ${code}${detail}`, code, code === 429 || code >= 500, { cause: error })
  }
  // Anything else is the connection failing (or the client failing to get the API time): worth another try.
  return new OvhRequestError(operation, `request failed: ${describe(code ?? error)}`, undefined, true, { cause: error })
}

/** The client rejects with `{ error, message }` (see ovh-module.d.ts). */
function rejection(error: unknown): { code: unknown; message: string | undefined } {
  if (typeof error === 'object' && error !== null && 'error' in error) {
    const message = 'message' in error && typeof error.message === 'string' ? error.message : undefined
    return { code: error.error, message }
  }
  return { code: undefined, message: undefined }
}

function describe(value: unknown): string {
  if (value instanceof Error) return value.message
  if (typeof value === 'string') return value
  if (typeof value === 'number') return `error ${value}`
  return String(value)
}
