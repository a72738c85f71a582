import type { z } from 'zod'

/**
 * The console's one way to call the REST API from the browser. Same-origin requests carry the session
 * cookie and the Origin header the API checks on writes. Errors come back as values, never thrown, so
 * forms can show `fields` next to their inputs and `message` otherwise.
 */
export interface ApiFieldError {
  field: string
  message: string
}

export interface ApiError {
  status: number
  code: string
  message: string
  fields: ApiFieldError[]
  current?: unknown
}

export type ApiResult<T> = { ok: true; status: number; data: T } | { ok: false; error: ApiError }

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

function toApiError(status: number, body: unknown): ApiError {
  const err = isRecord(body) && isRecord(body.error) ? body.error : undefined
  const fields = Array.isArray(err?.fields)
    ? err.fields.flatMap((f): ApiFieldError[] =>
        isRecord(f) && typeof f.field === 'string' && typeof f.message === 'string' ? [{ field: f.field, message: f.message }] : [],
      )
    : []
  const fallback =
    status === 429
      ? 'Too many attempts, wait a minute'
      : status >= 500
        ? 'Something went wrong on our side. Try again in a moment.'
        : `The request failed (HTTP ${status})`
  return {
    status,
    code: typeof err?.code === 'string' ? err.code : `http_${status}`,
    message: typeof err?.message === 'string' && err.message ? err.message : fallback,
    fields,
    current: err?.current,
  }
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'

/**
 * Calls the API. With a schema, a successful response is checked against it (the shapes are in
 * /api/v1/openapi.json), so callers get typed data, never an unchecked guess.
 */
export async function api(method: Method, path: string, body?: unknown): Promise<ApiResult<unknown>>
export async function api<T>(method: Method, path: string, body: unknown, schema: z.ZodType<T>): Promise<ApiResult<T>>
export async function api<T>(method: Method, path: string, body?: unknown, schema?: z.ZodType<T>): Promise<ApiResult<T | unknown>> {
  let response: Response
  try {
    response = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers: body === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
  } catch {
    return { ok: false, error: { status: 0, code: 'network', message: 'Could not reach the server. Check your connection.', fields: [] } }
  }
  const text = await response.text()
  let parsed: unknown = undefined
  try {
    parsed = text ? JSON.parse(text) : undefined
  } catch {
    parsed = undefined
  }
  if (!response.ok) return { ok: false, error: toApiError(response.status, parsed) }
  if (!schema) return { ok: true, status: response.status, data: parsed }
  const checked = schema.safeParse(parsed)
  if (!checked.success) {
    return {
      ok: false,
      error: { status: response.status, code: 'unexpected_response', message: 'The server sent an unexpected answer.', fields: [] },
    }
  }
  return { ok: true, status: response.status, data: checked.data }
}

/** Field errors keyed by field name, and the error message when no field claimed it. */
export function splitErrors(error: ApiError, known: readonly string[]): { fields: Record<string, string>; message: string | null } {
  const fields: Record<string, string> = {}
  const unclaimed: string[] = []
  for (const f of error.fields) {
    if (known.includes(f.field)) fields[f.field] = fields[f.field] ? `${fields[f.field]}; ${f.message}` : f.message
    else unclaimed.push(`${f.field}: ${f.message}`)
  }
  const message = error.fields.length === 0 ? error.message : unclaimed.length ? unclaimed.join('; ') : null
  return { fields, message }
}
