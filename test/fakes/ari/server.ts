/**
 * A protocol double of a CA directory that offers ACME Renewal Information (RFC 9773), which Pebble 2.4 does not:
 * the directory (a given CA's, e.g. Pebble's, plus `renewalInfo`), unauthenticated `GET <renewalInfo>/<certID>`, and
 * a `newOrder` endpoint that records the order payload and answers a problem document (it issues nothing). See
 * README.md for what is faithful and what is simplified.
 */
import http from 'node:http'

export interface SuggestedWindow {
  start: string
  end: string
  explanationURL?: string
}

export interface AriProblem {
  status: number
  type: string
  detail: string
  /** sent as Retry-After (seconds) */
  retryAfterSeconds?: number
}

export interface AriDoubleOptions {
  /**
   * A CA directory to extend (Pebble's, read by the test): its resources are served unchanged, so accounts are made at
   * that CA, except `newOrder`, which is the double's, and `renewalInfo`, which is added.
   */
  upstreamDirectory?: Record<string, unknown>
}

export interface AriDouble {
  /** e.g. http://127.0.0.1:41234/directory */
  readonly directoryUrl: string
  /** e.g. http://127.0.0.1:41234/renewal-info */
  readonly renewalInfoUrl: string
  /** The window answered for `certId` from now on, with Retry-After (seconds; RFC 9773 suggests 6 hours by default). */
  setWindow(certId: string, window: SuggestedWindow, retryAfterSeconds?: number): void
  /** Orders with `replaces: certId` are answered 409 alreadyReplaced from now on. */
  markReplaced(certId: string): void
  /** The problem every other order is answered with (default: 403 unauthorized, "this double issues nothing"). */
  answerOrdersWith(problem: AriProblem): void
  /** The payloads of the orders received (the JWS payload decoded), in order. */
  readonly orders: Record<string, unknown>[]
  /** "METHOD /path" of every request, in order. */
  readonly requests: string[]
  stop(): Promise<void>
}

const PROBLEM = 'urn:ietf:params:acme:error:'
/** RFC 9773 §4.1 */
const CERT_ID = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/
const MAX_BODY_BYTES = 64 * 1024

function send(response: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const json = JSON.stringify(body, null, 2)
  response.writeHead(status, { 'content-length': Buffer.byteLength(json), ...headers })
  response.end(json)
}

function problem(response: http.ServerResponse, answer: AriProblem): void {
  const headers: Record<string, string> = { 'content-type': 'application/problem+json' }
  if (answer.retryAfterSeconds !== undefined) headers['retry-after'] = String(answer.retryAfterSeconds)
  send(response, answer.status, { type: answer.type, detail: answer.detail, status: answer.status }, headers)
}

function readBody(request: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = ''
    request.setEncoding('utf8')
    request.on('data', (chunk: string) => {
      body += chunk
      if (body.length > MAX_BODY_BYTES) request.destroy(new Error('body too large'))
    })
    request.on('end', () => resolve(body))
    request.on('error', reject)
  })
}

/** The payload of a flattened JWS (RFC 7515 §7.2.2), as ACME sends every POST; signatures are not checked. */
function jwsPayload(body: string): Record<string, unknown> | null {
  try {
    const jws: unknown = JSON.parse(body)
    if (typeof jws !== 'object' || jws === null || !('payload' in jws) || typeof jws.payload !== 'string') return null
    const payload: unknown = JSON.parse(Buffer.from(jws.payload, 'base64url').toString('utf8'))
    return typeof payload === 'object' && payload !== null && !Array.isArray(payload) ? Object.fromEntries(Object.entries(payload)) : null
  } catch {
    return null
  }
}

export async function startAriDouble(options: AriDoubleOptions = {}): Promise<AriDouble> {
  const windows = new Map<string, { window: SuggestedWindow; retryAfterSeconds: number }>()
  const replaced = new Set<string>()
  let orderProblem: AriProblem = { status: 403, type: `${PROBLEM}unauthorized`, detail: 'this double issues nothing' }
  const orders: Record<string, unknown>[] = []
  const requests: string[] = []
  let base = ''

  const server = http.createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://double')
    requests.push(`${request.method} ${url.pathname}`)
    void (async () => {
      if (request.method === 'GET' && url.pathname === '/directory') {
        return send(
          response,
          200,
          { ...options.upstreamDirectory, newOrder: `${base}/new-order`, renewalInfo: `${base}/renewal-info` },
          { 'content-type': 'application/json' },
        )
      }
      if (url.pathname.startsWith('/renewal-info/')) {
        if (request.method !== 'GET') return problem(response, { status: 405, type: `${PROBLEM}malformed`, detail: 'GET only' })
        const certId = decodeURIComponent(url.pathname.slice('/renewal-info/'.length))
        if (!CERT_ID.test(certId)) return problem(response, { status: 400, type: `${PROBLEM}malformed`, detail: 'malformed certID' })
        const known = windows.get(certId)
        if (!known) return problem(response, { status: 404, type: `${PROBLEM}malformed`, detail: 'no such certificate' })
        return send(
          response,
          200,
          { suggestedWindow: { start: known.window.start, end: known.window.end }, explanationURL: known.window.explanationURL },
          { 'content-type': 'application/json', 'retry-after': String(known.retryAfterSeconds) },
        )
      }
      if (url.pathname === '/new-order') {
        if (request.method !== 'POST') return problem(response, { status: 405, type: `${PROBLEM}malformed`, detail: 'POST only' })
        const payload = jwsPayload(await readBody(request))
        if (!payload) return problem(response, { status: 400, type: `${PROBLEM}malformed`, detail: 'the body is not a JWS' })
        orders.push(payload)
        if (typeof payload.replaces === 'string' && replaced.has(payload.replaces))
          return problem(response, { status: 409, type: `${PROBLEM}alreadyReplaced`, detail: 'this certificate was already replaced' })
        return problem(response, orderProblem)
      }
      return problem(response, { status: 404, type: `${PROBLEM}malformed`, detail: 'not found' })
    })().catch((err: unknown) => {
      if (!response.headersSent) problem(response, { status: 500, type: `${PROBLEM}serverInternal`, detail: String(err) })
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const address = server.address()
  if (!address || typeof address === 'string') throw new Error('the ARI double has no TCP address')
  base = `http://127.0.0.1:${address.port}`

  return {
    directoryUrl: `${base}/directory`,
    renewalInfoUrl: `${base}/renewal-info`,
    setWindow: (certId, window, retryAfterSeconds = 21_600) => windows.set(certId, { window, retryAfterSeconds }),
    markReplaced: (certId) => replaced.add(certId),
    answerOrdersWith: (answer) => (orderProblem = answer),
    orders,
    requests,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
