/**
 * Every request the ACME adapter makes, and how its failures become ProvisionerErrors.
 *
 * acme-client sends its requests through one axios instance shared by the whole process (`acme.axios`), drops the
 * problem document (RFC 7807) of a failed request, keeping only its `detail`, and when a request gets no answer at
 * all it throws a bare TypeError from its retry interceptor. So, once per process, this module adds one request and
 * one response interceptor to that instance. They act only on requests made inside `runInContext` (found with an
 * AsyncLocalStorage), and for those they:
 * - set the CA's own https.Agent (system roots + the CA's `caBundle`), so trusting Pebble or a private CA never widens
 *   what any other client of the process trusts, and a timeout;
 * - switch off acme-client's own retries: it sleeps 5 to 25 s between tries (about 75 s for one request), and a worker
 *   must never be held that long; the job retries later instead, after Retry-After when the CA sent one (its badNonce
 *   retry, which does not sleep, is kept);
 * - remember, per call, the problem documents received and the requests that got no answer (through a transport that
 *   records the socket error), so a failure is mapped to what really happened.
 * The adapter's own unauthenticated GETs (directory, renewalInfo) use `httpGet` with the same agent.
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import http from 'node:http'
import https from 'node:https'
import { axios as acmeAxios } from 'acme-client'
import { z } from 'zod'
import { AcmeProblemError, ProvisionerError } from '../types'

export const PROVIDER = 'ACME'

/** A problem document the CA answered, with the status and Retry-After it came with. */
export interface AnsweredProblem {
  url: string
  status: number
  /** e.g. "urn:ietf:params:acme:error:rateLimited"; "" when the body was not a problem document */
  type: string
  detail: string
  /** identifiers named by subproblems (RFC 8555 §6.7.1) */
  identifiers: string[]
  retryAfterMs: number | undefined
}

/** What one adapter call saw of the CA. */
export interface CallContext {
  agent: https.Agent
  timeoutMs: number
  /** problem answers by URL; dropped when the same URL answers successfully later (acme-client's badNonce retry) */
  problems: Map<string, AnsweredProblem>
  /** requests that got no answer at all, by URL: the socket error or the timeout */
  unanswered: Map<string, { url: string; error: Error }>
}

const storage = new AsyncLocalStorage<CallContext>()
/** The context of each request in flight, by its axios config (the same object reaches the response). */
const contexts = new WeakMap<object, CallContext>()
let installed = false

const ZProblem = z.looseObject({
  type: z.string().optional(),
  detail: z.string().optional(),
  subproblems: z.array(z.looseObject({ identifier: z.looseObject({ value: z.string() }).optional() })).optional(),
})

/** One header of a response's headers (node's plain object, or axios's AxiosHeaders, which zod's record refuses). */
function headerOf(headers: unknown, name: string): unknown {
  return typeof headers === 'object' && headers !== null ? Reflect.get(headers, name) : undefined
}

/** Retry-After (RFC 9110 §10.2.3): delay-seconds or an HTTP-date, in milliseconds from `now`; undefined when absent or unreadable. */
export function parseRetryAfter(value: unknown, now = Date.now()): number | undefined {
  const header = Array.isArray(value) ? value[0] : value
  if (typeof header !== 'string' || header.trim() === '') return undefined
  const text = header.trim()
  if (/^\d+$/.test(text)) return Number(text) * 1000
  const date = Date.parse(text)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

/** Anything that looks like PEM key material is cut out of text that may reach a message or a log. */
export function redact(text: string): string {
  return text.replace(/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)/g, '[redacted key]')
}

function readProblem(url: string, status: number, data: unknown, headers: unknown): AnsweredProblem {
  let body: unknown = data
  if (typeof data === 'string') {
    try {
      body = JSON.parse(data)
    } catch {
      body = undefined
    }
  }
  const problem = ZProblem.safeParse(body)
  const text = typeof data === 'string' ? data.trim().replace(/\s+/g, ' ').slice(0, 200) : ''
  return {
    url,
    status,
    type: problem.success ? (problem.data.type ?? '') : '',
    detail: redact(problem.success ? (problem.data.detail ?? '') : text).slice(0, 500),
    identifiers: problem.success ? (problem.data.subproblems ?? []).flatMap((sub) => (sub.identifier ? [sub.identifier.value] : [])) : [],
    retryAfterMs: parseRetryAfter(headerOf(headers, 'retry-after')),
  }
}

/** A transport (axios `transport` option) that is node's http/https but records a request that gets no answer. */
function recordingTransport(context: CallContext, url: string) {
  return {
    request(options: https.RequestOptions, callback: (response: http.IncomingMessage) => void): http.ClientRequest {
      const request = (options.protocol === 'http:' ? http : https).request(options, callback)
      const record = (err: Error) => {
        if (!context.unanswered.has(url)) context.unanswered.set(url, { url, error: err })
      }
      request.on('error', record)
      request.on('timeout', () => record(Object.assign(new Error(`no answer within ${context.timeoutMs} ms`), { code: 'ETIMEDOUT' })))
      return request
    },
  }
}

function installInterceptors(): void {
  if (installed) return
  installed = true
  // Request interceptors run last-added first, so these settings are in place before acme-client's own interceptor runs.
  acmeAxios.interceptors.request.use((config) => {
    const context = storage.getStore()
    if (!context) return config
    const url = String(config.url)
    config.httpsAgent = context.agent
    config.timeout = context.timeoutMs
    config.transport = recordingTransport(context, url)
    // acme-client retries while its `retryAttempt` counter is below its limit (5): start it past any limit
    Object.assign(config, { retryAttempt: Number.MAX_SAFE_INTEGER })
    contexts.set(config, context)
    return config
  })
  acmeAxios.interceptors.response.use((response) => {
    const context = contexts.get(response.config)
    if (!context) return response
    const url = String(response.config.url)
    context.unanswered.delete(url)
    if (response.status >= 400) context.problems.set(url, readProblem(url, response.status, response.data, response.headers))
    else context.problems.delete(url)
    return response
  })
}

export function createCallContext(agent: https.Agent, timeoutMs: number): CallContext {
  installInterceptors()
  return { agent, timeoutMs, problems: new Map(), unanswered: new Map() }
}

/** Runs acme-client calls so that their requests use this context (agent, timeout, no sleeping retries, recording). */
export function runInContext<T>(context: CallContext, fn: () => Promise<T>): Promise<T> {
  return storage.run(context, fn)
}

function errorCode(err: unknown): string | undefined {
  return err instanceof Error && 'code' in err && typeof err.code === 'string' ? err.code : undefined
}

/** Certificate verification failures: a configuration problem (caBundle), not something that clears up by itself. */
const TLS_TRUST_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
])

function originOf(url: string): string {
  try {
    return new URL(url).origin
  } catch {
    return 'the CA'
  }
}

/** A request that got no answer: retryable, except when the CA's HTTPS certificate is not trusted. */
export function networkError(operation: string, url: string, err: unknown): ProvisionerError {
  const code = errorCode(err)
  const origin = originOf(url)
  if (code && TLS_TRUST_CODES.has(code))
    return new ProvisionerError(
      PROVIDER,
      operation,
      `the HTTPS certificate of ${origin} is not trusted (${code}): give the CA's root in caBundle`,
      false,
      { cause: err },
    )
  if (code === 'ETIMEDOUT' || code === 'ECONNABORTED')
    return new ProvisionerError(PROVIDER, operation, `no answer from ${origin}: ${code}`, true, { cause: err })
  const detail = code ?? (err instanceof Error ? redact(err.message) : 'unknown error')
  return new ProvisionerError(PROVIDER, operation, `cannot reach ${origin}: ${detail}`, true, { cause: err })
}

/** A problem answer: an AcmeProblemError when the CA sent a problem type; 5xx and 429 are retryable. */
export function problemError(operation: string, problem: AnsweredProblem, failedHostnames = problem.identifiers): ProvisionerError {
  const detail = problem.detail || `HTTP ${problem.status}`
  const options = { retryAfterMs: problem.retryAfterMs }
  const outage = problem.status >= 500 || problem.status === 429
  // AcmeProblemError decides retryable from the type alone: a CA outage with another type stays a plain retryable error
  if (problem.type && (!outage || problem.type.endsWith(':serverInternal') || problem.type.endsWith(':rateLimited')))
    return new AcmeProblemError(operation, `${detail} (${problem.type})`, problem.type, failedHostnames, options)
  return new ProvisionerError(PROVIDER, operation, `${originOf(problem.url)} answered HTTP ${problem.status}: ${detail}`, outage, options)
}

function lastOf<V>(map: Map<string, V>): V | undefined {
  let last: V | undefined
  for (const value of map.values()) last = value
  return last
}

/**
 * An acme-client failure as the ProvisionerError it really is: the CA's problem document when it answered one, a
 * retryable network error when a request got no answer, otherwise acme-client's own message (not retryable).
 */
export function callError(operation: string, err: unknown, context: CallContext): ProvisionerError {
  if (err instanceof ProvisionerError) return err
  const problem = lastOf(context.problems)
  if (problem) return problemError(operation, problem)
  const unanswered = lastOf(context.unanswered)
  if (unanswered) return networkError(operation, unanswered.url, unanswered.error)
  const message = err instanceof Error ? err.message : String(err)
  return new ProvisionerError(PROVIDER, operation, redact(message).slice(0, 500) || 'failed', false, { cause: err })
}

export interface PlainAnswer {
  status: number
  headers: http.IncomingHttpHeaders
  text: string
}

/** An unauthenticated GET (directory, renewalInfo) through the CA's agent, with the timeout; throws a ProvisionerError when unanswered. */
export function httpGet(operation: string, url: string, context: CallContext): Promise<PlainAnswer> {
  return new Promise((resolve, reject) => {
    let parsed: URL
    try {
      parsed = new URL(url)
    } catch {
      return reject(new ProvisionerError(PROVIDER, operation, `not a URL: ${url}`))
    }
    const secure = parsed.protocol === 'https:'
    const options = { headers: { accept: 'application/json' }, timeout: context.timeoutMs, ...(secure ? { agent: context.agent } : {}) }
    const request = (secure ? https : http).get(parsed, options, (response) => {
      let text = ''
      response.setEncoding('utf8')
      response.on('data', (chunk: string) => {
        text += chunk
        if (text.length > 1_000_000) request.destroy(new Error('answer larger than 1 MB'))
      })
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, text }))
      response.on('error', (err) => reject(networkError(operation, url, err)))
    })
    request.on('timeout', () =>
      request.destroy(Object.assign(new Error(`no answer within ${context.timeoutMs} ms`), { code: 'ETIMEDOUT' })),
    )
    request.on('error', (err) => reject(networkError(operation, url, err)))
  })
}

/** A failed GET answer as a ProvisionerError (problem document when there is one). */
export function answerError(operation: string, url: string, answer: PlainAnswer): ProvisionerError {
  return problemError(operation, readProblem(url, answer.status, answer.text, answer.headers), [])
}
