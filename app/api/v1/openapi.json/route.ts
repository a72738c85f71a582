import { buildOpenApiDocument } from '@/app/api/_lib/openapi'
import type { RouteHandler } from '@/app/api/_lib/route'
import { ROUTE_MODULES } from '@/app/api/_lib/route-modules'
import { getConfig } from '@/lib/config'

let cached: unknown

export function GET(): Response {
  cached ??= buildOpenApiDocument(
    Object.values(ROUTE_MODULES).flatMap((m) => Object.values(m).filter((h): h is RouteHandler => typeof h === 'function' && 'spec' in h)),
    getConfig().publicUrl,
  )
  return Response.json(cached)
}
