import { parseDocument } from 'yaml'
import type { FieldError } from '@/lib/errors'

export const EXTRA_SETTINGS_MAX_BYTES = 64 * 1024

/**
 * Extra settings are operator-written YAML kept as typed (comments included). They must parse, without
 * warnings, into a mapping (or be empty). Returns the problems found, each naming the line.
 */
export function checkExtraSettings(text: string, field = 'extraSettings'): FieldError[] {
  if (Buffer.byteLength(text, 'utf8') > EXTRA_SETTINGS_MAX_BYTES) {
    return [{ field, message: `must be at most ${EXTRA_SETTINGS_MAX_BYTES / 1024} KiB` }]
  }
  if (!text.trim()) return []
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true })
  const problems = [...doc.errors, ...doc.warnings]
  if (problems.length) {
    return problems.map((e) => ({ field, message: `invalid YAML: ${e.message.split('\n')[0]}` }))
  }
  const value: unknown = doc.toJS()
  if (value !== null && (typeof value !== 'object' || Array.isArray(value))) {
    return [{ field, message: 'must be a YAML mapping (key: value lines)' }]
  }
  return []
}
