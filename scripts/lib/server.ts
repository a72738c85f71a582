import http from 'node:http'
import next from 'next'
import type { Logger } from 'pino'
import { CLIENT_IP_HEADER } from '@/lib/auth/better-auth'
import type { Config } from '@/lib/config'

/**
 * The console and API: Next.js in production mode behind Node's HTTP server. The server stamps each
 * request with the client address (from the socket, or from X-Forwarded-For with TRUST_PROXY) in a
 * header of ours, replacing any the client sent, so rate limits cannot be dodged by a forged header.
 */
export async function startHttpServer(opts: { config: Config; log: Logger; dir: string }): Promise<{ close(): Promise<void> }> {
  const app = next({ dev: false, dir: opts.dir, hostname: opts.config.host, port: opts.config.port })
  await app.prepare()
  const handle = app.getRequestHandler()
  const server = http.createServer((req, res) => {
    const forwarded = opts.config.trustProxy
      ? String(req.headers['x-forwarded-for'] ?? '')
          .split(',')[0]
          ?.trim()
      : ''
    req.headers[CLIENT_IP_HEADER] = forwarded || req.socket.remoteAddress || 'unknown'
    handle(req, res).catch((err: unknown) => {
      opts.log.error({ err, url: req.url }, 'request failed')
      if (!res.headersSent) res.writeHead(500).end('Internal error')
    })
  })
  // Server-sent event streams stay open; don't let the default timeouts cut them.
  server.requestTimeout = 0
  server.keepAliveTimeout = 65_000
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.config.port, opts.config.host, resolve)
  })
  opts.log.info({ url: opts.config.publicUrl, port: opts.config.port }, `console ready at ${opts.config.publicUrl}`)
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
