import { Prisma } from './generated/client'

/** True when err is a unique-constraint violation (on `field`, when given). */
export function isUniqueViolation(err: unknown, field?: string): boolean {
  if (!(err instanceof Prisma.PrismaClientKnownRequestError) || err.code !== 'P2002') return false
  if (!field) return true
  const meta = err.meta as { target?: unknown; driverAdapterError?: { cause?: { constraint?: { fields?: string[] } } } } | undefined
  const targets = [
    ...(Array.isArray(meta?.target) ? meta.target : typeof meta?.target === 'string' ? [meta.target] : []),
    ...(meta?.driverAdapterError?.cause?.constraint?.fields ?? []),
  ].map(String)
  return targets.length === 0 || targets.some((t) => t === field || t.includes(field))
}

/**
 * True when err is a unique violation of the named constraint or index. For partial unique indexes (which
 * name no single field) the driver adapter reports the index name in the error's metadata.
 */
export function isUniqueViolationOf(err: unknown, constraint: string): boolean {
  if (!(err instanceof Prisma.PrismaClientKnownRequestError) || err.code !== 'P2002') return false
  return JSON.stringify(err.meta ?? {}).includes(constraint) || err.message.includes(constraint)
}
