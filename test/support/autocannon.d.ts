// autocannon 8 ships no types: only what the routing load (test/support/routing-load.ts) uses.
declare module 'autocannon' {
  import type { EventEmitter } from 'node:events'

  /** One connection's client; its events are how a caller sees each request go out and come back. */
  export interface AutocannonClient extends EventEmitter {
    /** the current connection (replaced by a new socket on every reconnection) */
    readonly conn: object
    on(event: 'request', listener: () => void): this
    on(event: 'response', listener: (statusCode: number, bytes: number, responseTime: number) => void): this
    /** the parsed status line and headers (a flat [name, value, name, value…] list) of each response */
    on(event: 'headers', listener: (info: { statusCode: number; headers: unknown }) => void): this
    on(event: 'connError', listener: (error: Error) => void): this
    on(event: 'timeout', listener: () => void): this
  }

  export interface AutocannonRequest {
    method?: string
    path?: string
    headers?: Record<string, string>
    /** headers: a flat object of the response's headers (lower-case names as sent) */
    onResponse?: (status: number, body: string, context: Record<string, unknown>, headers: Record<string, string>) => void
  }

  export interface AutocannonOptions {
    url: string
    connections?: number
    /** seconds; ignored when `amount` is set */
    duration?: number
    amount?: number
    /** requests per second over all connections */
    overallRate?: number
    connectionRate?: number
    /** seconds before a request counts as timed out */
    timeout?: number
    method?: string
    headers?: Record<string, string>
    requests?: AutocannonRequest[]
    setupClient?: (client: AutocannonClient) => void
    pipelining?: number
  }

  export interface AutocannonResult {
    duration: number
    errors: number
    timeouts: number
    mismatches: number
    non2xx: number
    resets: number
    '2xx': number
    statusCodeStats: Record<string, { count: number }>
  }

  /** The running load: its events, `stop()`, and a promise of the result (without a callback). */
  export interface AutocannonInstance extends EventEmitter, PromiseLike<AutocannonResult> {
    stop(): void
  }

  function autocannon(options: AutocannonOptions): AutocannonInstance
  export default autocannon
}
