/**
 * The one domain error type. lib/ throws these; app/api maps each code to an HTTP status in one place
 * (app/api/_lib/errors.ts). Messages are written for the person who sent the request.
 */
export type DomainErrorCode =
  | 'invalid_input' // 400
  | 'unauthenticated' // 401
  | 'forbidden' // 403
  | 'not_found' // 404
  | 'conflict' // 409
  | 'gone' // 410
  | 'rate_limited' // 429

export interface FieldError {
  /** dotted path of the offending field, e.g. "settings.contactEmail" */
  field: string
  message: string
}

export class DomainError extends Error {
  constructor(
    readonly code: DomainErrorCode,
    message: string,
    readonly details: { fields?: FieldError[]; current?: unknown } = {},
  ) {
    super(message)
    this.name = 'DomainError'
  }
}

export const notFound = (what: string) => new DomainError('not_found', `${what} not found`)
export const forbidden = (message = 'You are not allowed to do this') => new DomainError('forbidden', message)
export const conflict = (message: string, current?: unknown, fields?: FieldError[]) =>
  new DomainError('conflict', message, { current, fields })
export const invalidInput = (fields: FieldError[], message?: string) =>
  new DomainError('invalid_input', message ?? fields.map((f) => `${f.field}: ${f.message}`).join('; '), { fields })
