import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { errorResponse, fieldsOf, STATUS_OF } from '@/app/api/_lib/errors'
import { conflict, DomainError, forbidden, invalidInput, notFound } from '@/lib/errors'

// The 500 path logs the error; keep the test output quiet (the logger reads the config on first use).
process.env.LOG_LEVEL ??= 'silent'

const issuesOf = (schema: z.ZodType, input: unknown) => {
  const parsed = schema.safeParse(input)
  if (parsed.success) throw new Error('expected a parse failure')
  return fieldsOf(parsed.error)
}

describe('fieldsOf', () => {
  const schema = z
    .object({
      name: z.string().min(1, 'is required'),
      settings: z.object({ contactEmail: z.email('must be an email address') }).strict(),
      tags: z.array(z.string()).optional(),
    })
    .strict()

  it('names nested fields with dotted paths', () => {
    expect(issuesOf(schema, { name: 'x', settings: { contactEmail: 'nope' } })).toEqual([
      { field: 'settings.contactEmail', message: 'must be an email address' },
    ])
    expect(issuesOf(schema, { name: 'x', settings: { contactEmail: 'a@b.test' }, tags: ['a', 3] })).toEqual([
      { field: 'tags.1', message: expect.any(String) },
    ])
  })

  it('says "is required" for a missing field', () => {
    expect(issuesOf(schema, { settings: { contactEmail: 'a@b.test' } })).toEqual([{ field: 'name', message: 'is required' }])
  })

  it('names each unknown key, at any depth', () => {
    expect(issuesOf(schema, { name: 'x', settings: { contactEmail: 'a@b.test', colour: 1 }, a: 1, b: 2 })).toEqual(
      expect.arrayContaining([
        { field: 'a', message: 'is not a known field' },
        { field: 'b', message: 'is not a known field' },
        { field: 'settings.colour', message: 'is not a known field' },
      ]),
    )
  })

  it('calls a wrong top-level value "body"', () => {
    expect(issuesOf(schema, 'text')).toEqual([{ field: 'body', message: expect.any(String) }])
  })
})

describe('errorResponse', () => {
  it('maps every domain error code to its status', () => {
    expect(STATUS_OF).toEqual({
      invalid_input: 400,
      unauthenticated: 401,
      forbidden: 403,
      not_found: 404,
      conflict: 409,
      gone: 410,
      rate_limited: 429,
    })
  })

  it.each([
    [
      invalidInput([{ field: 'slug', message: 'is reserved' }]),
      400,
      { code: 'invalid_input', message: 'slug: is reserved', fields: [{ field: 'slug', message: 'is reserved' }] },
    ],
    [forbidden(), 403, { code: 'forbidden', message: 'You are not allowed to do this' }],
    [notFound('Instance'), 404, { code: 'not_found', message: 'Instance not found' }],
    [conflict('stale', { version: 2 }), 409, { code: 'conflict', message: 'stale', current: { version: 2 } }],
    [new DomainError('gone', 'used'), 410, { code: 'gone', message: 'used' }],
  ])('%s → %i', async (err, status, error) => {
    const res = errorResponse(err, 'req-1')
    expect(res.status).toBe(status)
    expect(await res.json()).toEqual({ error })
  })

  it('hides the detail of anything unexpected behind a 500 with the request id', async () => {
    const res = errorResponse(new Error('connection string postgres://user:secret@db leaked'), 'req-2')
    expect(res.status).toBe(500)
    const body = await res.json()
    expect(body).toEqual({ error: { code: 'internal', message: 'Something went wrong on our side', requestId: 'req-2' } })
  })
})
