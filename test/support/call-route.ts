import type { RouteHandler } from '@/app/api/_lib/route'

export interface CallOptions {
  /** API token (Authorization: Bearer) */
  token?: string
  /** raw Cookie header, for console-session requests */
  cookie?: string
  params?: Record<string, string>
  query?: Record<string, string | number | undefined>
  body?: unknown
  headers?: Record<string, string>
}

/**
 * Calls a route handler exported by an app/api route file with a real Request, as Next.js would.
 * Exercises the whole stack below HTTP routing: auth, parsing, lib/, the database.
 */
// Tests read arbitrary JSON bodies and assert on their shape, so the body is untyped here on purpose.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type JsonBody = any

export async function callRoute(
  handler: RouteHandler | undefined,
  opts: CallOptions = {},
): Promise<{ status: number; body: JsonBody; headers: Headers }> {
  if (!handler) throw new Error('no such handler')
  const url = new URL(`http://console.test${fillPath(handler.spec.path, opts.params ?? {})}`)
  for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v))
  const headers = new Headers(opts.headers)
  if (opts.token) headers.set('authorization', `Bearer ${opts.token}`)
  if (opts.cookie) headers.set('cookie', opts.cookie)
  if (opts.body !== undefined) headers.set('content-type', 'application/json')
  const request = new Request(url, {
    method: handler.spec.method,
    headers,
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  })
  const response = await handler(request, { params: Promise.resolve(opts.params ?? {}) })
  const text = await response.text()
  return { status: response.status, body: text ? safeJson(text) : null, headers: response.headers }
}

function fillPath(path: string, params: Record<string, string>): string {
  return path.replace(/\{(\w+)\}/g, (_, k: string) => encodeURIComponent(params[k] ?? `missing-${k}`))
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}
