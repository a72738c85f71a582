import http from 'node:http'
import autocannon, { type AutocannonClient } from 'autocannon'

/**
 * Constant, bounded HTTP load on a load balancer for one Host (autocannon), and single requests that say which
 * appserver answered: what the routing test and the routing benchmark count failed requests with.
 */

export interface LoadOptions {
  /** the load balancer's HTTP port on 127.0.0.1 */
  port: number
  /** the Host header (the instance's hostname) */
  host: string
  path?: string
  connections: number
  /** requests per second over all connections */
  rate: number
  /** seconds before autocannon counts a request as timed out (default 10) */
  timeoutSeconds?: number
}

export interface LoadFigures {
  /** answered requests */
  requests: number
  seconds: number
  /** autocannon's own counts: connection errors (refused, reset), timeouts (a subset of errors), non-2xx answers */
  errors: number
  timeouts: number
  non2xx: number
  statusCodes: Record<string, number>
  /**
   * Requests written and never answered without any error: the connection just ended. autocannon reconnects and sends
   * the next request without counting the lost one, so this is counted here, from its client's events.
   */
  lost: number
  /**
   * Of those, the ones autocannon wrote on a connection whose previous answer carried `Connection: close` (HAProxy's
   * old worker after a reload): autocannon ignores that header, a browser or any HTTP client library opens a new
   * connection instead. Not a failure of the load balancer, so apart from `lost`.
   */
  lostAfterClose: number
  /**
   * Per answered request, from writing it to its answer, in ms, measured here: autocannon's own histogram mis-times
   * every request after a dropped one on the same connection (it keeps the dropped one queued).
   */
  latency: { p50: number; p99: number; max: number }
  /** answers by `x-tenon-appserver` */
  byAppserver: Record<string, number>
}

export interface RunningLoad {
  /** answered requests so far */
  answered(): number
  stop(): Promise<LoadFigures>
}

export function startLoad(o: LoadOptions): RunningLoad {
  const byAppserver: Record<string, number> = {}
  let answered = 0
  let rawLost = 0
  let lostAfterClose = 0
  const latencies: number[] = []

  // pipelining 1: a client has at most one request in flight, so a 'request' while one is still unanswered means the
  // earlier one was dropped with its connection.
  const setupClient = (client: AutocannonClient) => {
    let inFlight = false
    let closingConn: object | undefined
    let sentOnClosing = false
    let sentAt = 0
    client.on('headers', (info) => {
      const headers = Array.isArray(info.headers) ? info.headers.map(String) : []
      for (let i = 0; i + 1 < headers.length; i += 2)
        if (headers[i]?.toLowerCase() === 'connection' && /close/i.test(headers[i + 1] ?? '')) closingConn = client.conn
    })
    client.on('response', () => {
      if (inFlight) latencies.push(performance.now() - sentAt)
      inFlight = false
      answered++
    })
    client.on('connError', () => (inFlight = false))
    client.on('request', () => {
      if (inFlight) {
        if (sentOnClosing) lostAfterClose++
        else rawLost++
      }
      sentOnClosing = closingConn !== undefined && client.conn === closingConn
      inFlight = true
      sentAt = performance.now()
    })
  }

  const instance = autocannon({
    url: `http://127.0.0.1:${o.port}`,
    connections: o.connections,
    overallRate: o.rate,
    duration: 3600,
    timeout: o.timeoutSeconds ?? 10,
    headers: { host: o.host },
    requests: [
      {
        method: 'GET',
        path: o.path ?? '/',
        onResponse: (_status, _body, _context, headers) => {
          const id = headers['x-tenon-appserver'] ?? '(none)'
          byAppserver[id] = (byAppserver[id] ?? 0) + 1
        },
      },
    ],
    setupClient,
  })
  // autocannon reports failures through the result; an 'error' without a listener would throw instead.
  instance.on('error', () => {})

  return {
    answered: () => answered,
    async stop() {
      instance.stop()
      const result = await instance
      const statusCodes = Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, s]) => [code, s.count]))
      return {
        requests: Object.values(statusCodes).reduce((a, b) => a + b, 0),
        seconds: result.duration,
        errors: result.errors,
        timeouts: result.timeouts,
        non2xx: result.non2xx,
        statusCodes,
        // A timeout makes autocannon reconnect and send the next request before it reports the timeout, which looks
        // like a drop above; timeouts are already counted.
        lost: Math.max(0, rawLost - result.timeouts),
        lostAfterClose,
        latency: latencyFigures(latencies),
        byAppserver,
      }
    },
  }
}

function latencyFigures(samples: number[]): LoadFigures['latency'] {
  const sorted = [...samples].sort((a, b) => a - b)
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN
  const round = (n: number) => Math.round(n * 10) / 10
  return { p50: round(at(50)), p99: round(at(99)), max: round(sorted[sorted.length - 1] ?? Number.NaN) }
}

export interface Answer {
  status: number
  /** `x-tenon-appserver` of the answer, '' when absent (HAProxy's own pages) */
  appserver: string
}

/** One GET through the load balancer with that Host (on `agent`'s kept-alive connections when given). */
export function ask(port: number, host: string, options: { path?: string; agent?: http.Agent; timeoutMs?: number } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      { host: '127.0.0.1', port, path: options.path ?? '/', headers: { host }, agent: options.agent, timeout: options.timeoutMs ?? 5000 },
      (res) => {
        const header = res.headers['x-tenon-appserver']
        res.resume()
        res.on('end', () => resolve({ status: res.statusCode ?? 0, appserver: typeof header === 'string' ? header : '' }))
        res.on('error', reject)
      },
    )
    req.on('timeout', () =>
      req.destroy(new Error(`no answer from 127.0.0.1:${port} (Host: ${host}) within ${options.timeoutMs ?? 5000} ms`)),
    )
    req.on('error', reject)
  })
}
