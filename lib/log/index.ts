import pino, { type Logger } from 'pino'
import { getConfig } from '@/lib/config'

/** Keys whose values never reach a log line, at any depth pino can address. */
export const REDACTED_LOG_PATHS = [
  'password',
  '*.password',
  'token',
  '*.token',
  'secret',
  '*.secret',
  'authorization',
  '*.authorization',
  'headers.cookie',
  '*.headers.cookie',
  'code',
  '*.code',
]

const globalForLog = globalThis as unknown as { tenonLogger?: Logger }

export function getLogger(): Logger {
  globalForLog.tenonLogger ??= pino({
    level: getConfig().logLevel,
    base: { service: 'tenon' },
    redact: { paths: REDACTED_LOG_PATHS, censor: '[redacted]' },
  })
  return globalForLog.tenonLogger
}
