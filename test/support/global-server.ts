import type { TestProject } from 'vitest/node'
import { startTestServer } from './server'

declare module 'vitest' {
  export interface ProvidedContext {
    baseUrl: string
    setupCode: string
    serverDatabaseUrl: string
  }
}

/** The browser tests share one running product (built if needed) on a fresh database. */
export default async function setup(project: TestProject) {
  const server = await startTestServer()
  project.provide('baseUrl', server.baseUrl)
  project.provide('setupCode', server.setupCode)
  project.provide('serverDatabaseUrl', server.databaseUrl)
  return () => server.stop()
}
