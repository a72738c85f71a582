import { z } from 'zod'
import { ProvisionerError } from './types'

/** An outside API's JSON answer checked against what we rely on, or a ProvisionerError naming the provider and operation. */
export function parseAnswer<S extends z.ZodType>(
  provider: string,
  operation: string,
  schema: S,
  text: string,
  source = 'the API',
): z.infer<S> {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    throw new ProvisionerError(provider, operation, `${source} answered something that is not JSON`)
  }
  const parsed = schema.safeParse(json)
  if (!parsed.success)
    throw new ProvisionerError(provider, operation, `unexpected answer from ${source}: ${z.prettifyError(parsed.error).slice(0, 300)}`)
  return parsed.data
}
