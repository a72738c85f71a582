import { readdirSync } from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { beforeAll, describe, expect, it } from 'vitest'
import type { RouteHandler } from '@/app/api/_lib/route'
import { ROUTE_MODULES } from '@/app/api/_lib/route-modules'
import * as openapi from '@/app/api/v1/openapi.json/route'

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the document is walked generically
type Doc = any

const ROOT = path.resolve(import.meta.dirname, '../..')
const V1 = path.join(ROOT, 'app/api/v1')
/** The document's own route serves the document: it is built from the others and cannot list itself. */
const SELF = path.join(V1, 'openapi.json/route.ts')
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const

function routeFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? routeFiles(path.join(dir, d.name)) : d.name === 'route.ts' ? [path.join(dir, d.name)] : [],
  )
}

const handlers = (): RouteHandler[] =>
  Object.values(ROUTE_MODULES).flatMap((m) => Object.values(m).filter((h): h is RouteHandler => typeof h === 'function'))

let doc: Doc

beforeAll(async () => {
  const res = openapi.GET()
  expect(res.status).toBe(200)
  doc = await res.json()
})

describe('the OpenAPI document', () => {
  it('is OpenAPI 3.1 with the core paths and schemas', () => {
    expect(doc.openapi).toBe('3.1.0')
    expect(doc.info).toMatchObject({ title: expect.any(String), version: expect.any(String) })
    expect(doc.servers).toEqual([{ url: 'http://console.test' }])
    expect(Object.keys(doc.paths['/api/v1/instances'])).toEqual(expect.arrayContaining(['get', 'post']))
    expect(Object.keys(doc.paths['/api/v1/instances/{id}'])).toEqual(expect.arrayContaining(['get', 'patch', 'delete']))
    expect(Object.keys(doc.paths['/api/v1/organizations'])).toEqual(expect.arrayContaining(['get', 'post']))
    expect(doc.components.schemas.Instance).toMatchObject({ type: 'object' })
    expect(doc.components.schemas.Instance.required).toEqual(expect.arrayContaining(['id', 'slug', 'version', 'settings']))
    expect(doc.components.securitySchemes).toHaveProperty('bearer')
  })

  it('documents every route handler, with its parameters and responses', () => {
    for (const { spec } of handlers()) {
      const op = doc.paths[spec.path]?.[spec.method.toLowerCase()]
      expect(op, `${spec.method} ${spec.path}`).toBeDefined()
      expect(op.summary).toBe(spec.summary)
      expect(Object.keys(op.responses)).toContain(String(spec.status ?? 200))
      const declared = new Set((op.parameters ?? []).filter((p: Doc) => p.in === 'path').map((p: Doc) => p.name))
      for (const [, name] of spec.path.matchAll(/\{(\w+)\}/g)) expect(declared.has(name), `${spec.path} declares {${name}}`).toBe(true)
      if (spec.auth !== 'public') expect(Object.keys(op.responses)).toContain('401')
    }
  })

  it('names the request body and the error shape', () => {
    const create = doc.paths['/api/v1/instances'].post
    expect(create.requestBody.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/CreateInstanceRequest' })
    expect(create.responses['201'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/Instance' })
    expect(create.responses['400'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/Error' })
    const patch = doc.paths['/api/v1/instances/{id}'].patch
    expect(Object.keys(patch.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '403', '404', '409']))
  })

  it('has no dangling $ref', () => {
    const refs = JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? []
    expect(refs.length).toBeGreaterThan(0)
    for (const ref of refs) {
      const target = ref.slice(8, -1)
      expect(target.startsWith('#/components/')).toBe(true)
      const resolved = target
        .slice(2)
        .split('/')
        .reduce((node: Doc, key) => node?.[key], doc)
      expect(resolved, target).toBeDefined()
    }
  })

  it('has unique operations', () => {
    const seen = new Set<string>()
    for (const { spec } of handlers()) {
      const key = `${spec.method} ${spec.path}`
      expect(seen.has(key), key).toBe(false)
      seen.add(key)
    }
  })
})

describe('route modules', () => {
  it('every route file under app/api/v1 is listed in route-modules.ts', async () => {
    const listed = new Set<unknown>(handlers())
    const files = routeFiles(V1).filter((f) => f !== SELF)
    expect(files.length).toBeGreaterThanOrEqual(Object.keys(ROUTE_MODULES).length)
    for (const file of files) {
      const mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>
      const exported = METHODS.map((m) => mod[m]).filter((h) => typeof h === 'function')
      expect(exported.length, path.relative(ROOT, file)).toBeGreaterThan(0)
      for (const h of exported) expect(listed.has(h), `${path.relative(ROOT, file)} is missing from route-modules.ts`).toBe(true)
    }
    expect(files.length).toBe(Object.keys(ROUTE_MODULES).length)
  })
})
