import { ZodError } from 'zod'
import { DomainError, type DomainErrorCode, type FieldError } from '@/lib/errors'
import { getLogger } from '@/lib/log'

/** The one place a domain error becomes an HTTP status. */
export const STATUS_OF: Record<DomainErrorCode, number> = {
  invalid_input: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  gone: 410,
  rate_limited: 429,
}

export interface ErrorBody {
  error: { code: string; message: string; fields?: FieldError[]; current?: unknown; requestId?: string }
}

export function fieldsOf(err: ZodError): FieldError[] {
  return err.issues.flatMap((i) => {
    const path = i.path.map(String)
    // An unknown key is reported on the key itself, so the field named is the one to remove.
    if (i.code === 'unrecognized_keys') return i.keys.map((k) => ({ field: [...path, k].join('.'), message: 'is not a known field' }))
    return [{ field: path.join('.') || 'body', message: i.code === 'invalid_type' && i.input === undefined ? 'is required' : i.message }]
  })
}

export function errorResponse(err: unknown, requestId: string): Response {
  if (err instanceof DomainError) {
    const body: ErrorBody = { error: { code: err.code, message: err.message } }
    if (err.details.fields?.length) body.error.fields = err.details.fields
    if (err.details.current !== undefined) body.error.current = err.details.current
    return Response.json(body, { status: STATUS_OF[err.code] })
  }
  // Anything else is our bug or an outage: the detail goes to the log, never to the client.
  getLogger().error({ err, requestId }, 'unhandled error in API route')
  return Response.json({ error: { code: 'internal', message: 'Something went wrong on our side', requestId } } satisfies ErrorBody, {
    status: 500,
  })
}
