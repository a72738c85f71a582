/**
 * The cluster and resource API over the shared integration database, with no worker. Clusters registered here
 * never accept new instances (other test files create instances in this database), and the resource rows are
 * written directly: these tests are about who may do what through the API and what each one sees.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as clusterRoute from '@/app/api/v1/clusters/[id]/route'
import * as clusterTestRoute from '@/app/api/v1/clusters/[id]/test/route'
import * as clustersRoute from '@/app/api/v1/clusters/route'
import * as instanceRoute from '@/app/api/v1/instances/[id]/route'
import * as instanceResourcesRoute from '@/app/api/v1/instances/[id]/resources/route'
import * as purgeRoute from '@/app/api/v1/instances/[id]/purge/route'
import * as restoreRoute from '@/app/api/v1/instances/[id]/restore/route'
import * as resourceRoute from '@/app/api/v1/resources/[id]/route'
import * as credentialsRoute from '@/app/api/v1/resources/[id]/credentials/route'
import * as retryRoute from '@/app/api/v1/resources/[id]/retry/route'
import * as rotateRoute from '@/app/api/v1/resources/[id]/rotate/route'
import { getConfig } from '@/lib/config'
import { getDb } from '@/lib/db/client'
import { getSecretBox, sealJson } from '@/lib/secrets'
import { callRoute } from '../support/call-route'
import { createTestOrganization, createTestUser, uniq, type TestUser } from '../support/fixtures'
import { createMariadbAdmin, type MariadbAdmin } from '../support/mariadb-admin'
import { MARIADB } from '../support/services'
import { auditOf, createInstanceVia, fieldsOf } from './helpers'

const db = () => getDb()
let staff: TestUser
let client: TestUser
let stranger: TestUser
let admin: MariadbAdmin
let instance: { id: string; slug: string }
let resourceId: string
let resourceClusterId: string
const dbPassword = `instance-db-password-${uniq()}`

const mysqlBody = (overrides: Record<string, unknown> = {}, connection: Record<string, unknown> = {}) => ({
  kind: 'mysql',
  name: `mysql-${uniq()}`,
  acceptsNew: false,
  connection: { host: MARIADB.host, port: MARIADB.port, username: admin.username, password: admin.password, ...connection },
  ...overrides,
})

beforeAll(async () => {
  staff = await createTestUser({ staff: true })
  const organizationId = (await createTestOrganization()).id
  client = await createTestUser({ organizationId, role: 'owner' })
  stranger = await createTestUser({ organizationId: (await createTestOrganization()).id, role: 'owner' })
  admin = await createMariadbAdmin(`api${uniq().slice(0, 6)}`)
  instance = await createInstanceVia(staff.token, organizationId)
})

afterAll(async () => {
  await admin?.drop()
})

describe('clusters API', () => {
  let clusterId: string
  let version: number

  it('is for staff only', async () => {
    expect((await callRoute(clustersRoute.GET, { token: client.token })).status).toBe(403)
    expect((await callRoute(clustersRoute.POST, { token: client.token, body: mysqlBody() })).status).toBe(403)
  })

  it('refuses bad settings naming each field, and a failed connection test with its reason; nothing is saved', async () => {
    const before = await db().cluster.count()
    const shape = await callRoute(clustersRoute.POST, { token: staff.token, body: mysqlBody({}, { host: '', port: 'abc' }) })
    expect(shape.status).toBe(400)
    expect(fieldsOf(shape.body)).toEqual(expect.arrayContaining(['connection.host', 'connection.port']))
    const kind = await callRoute(clustersRoute.POST, { token: staff.token, body: mysqlBody({ kind: 'oracle' }) })
    expect(kind.status).toBe(400)
    expect(fieldsOf(kind.body)).toContain('kind')
    const wrong = await callRoute(clustersRoute.POST, { token: staff.token, body: mysqlBody({}, { password: 'definitely-wrong-pw' }) })
    expect(wrong.status).toBe(400)
    expect(fieldsOf(wrong.body)).toEqual(['connection'])
    expect(wrong.body.error.message).toMatch(/connection test failed/i)
    expect(JSON.stringify(wrong.body)).not.toContain('definitely-wrong-pw')
    expect(await db().cluster.count()).toBe(before)
  })

  it('registers a cluster after a passing test; the secret is never returned; changes are audited', async () => {
    const res = await callRoute(clustersRoute.POST, { token: staff.token, body: mysqlBody() })
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    expect(res.body).toMatchObject({ kind: 'mysql', acceptsNew: false, load: 0, secretFields: ['password'], lastTestError: null })
    expect(res.body.lastTestedAt).toEqual(expect.any(String))
    expect(JSON.stringify(res.body)).not.toContain(admin.password)
    clusterId = res.body.id
    version = res.body.version
    const listed = await callRoute(clustersRoute.GET, { token: staff.token })
    expect(JSON.stringify(listed.body)).not.toContain(admin.password)
    expect(listed.body.items.map((c: { id: string }) => c.id)).toContain(clusterId)
    const dup = await callRoute(clustersRoute.POST, { token: staff.token, body: mysqlBody({ name: res.body.name }) })
    expect(dup.status).toBe(409)
    expect((await auditOf(clusterId)).map((e) => e.action)).toContain('cluster.created')
    expect(JSON.stringify((await auditOf(clusterId)).map((e) => e.diff))).not.toContain(admin.password)
  })

  it('updates with optimistic concurrency; a secret left out keeps the stored one', async () => {
    const stale = await callRoute(clusterRoute.PATCH, {
      token: staff.token,
      params: { id: clusterId },
      body: { version: version - 1, acceptsNew: false },
    })
    expect(stale.status).toBe(409)
    const port = await callRoute(clusterRoute.PATCH, {
      token: staff.token,
      params: { id: clusterId },
      body: { version, connection: { port: 70000 } },
    })
    expect(port.status).toBe(400)
    expect(fieldsOf(port.body)).toEqual(['connection.port'])
    // userHost changes, the password is not sent: the connection test passes with the stored one.
    const ok = await callRoute(clusterRoute.PATCH, {
      token: staff.token,
      params: { id: clusterId },
      body: { version, connection: { userHost: '10.%' } },
    })
    expect(ok.status, JSON.stringify(ok.body)).toBe(200)
    expect(ok.body.connection.userHost).toBe('10.%')
    expect(ok.body.version).toBe(version + 1)
    // null clears a stored value: the default comes back; a required field cannot be cleared.
    const cleared = await callRoute(clusterRoute.PATCH, {
      token: staff.token,
      params: { id: clusterId },
      body: { version: version + 1, connection: { userHost: null } },
    })
    expect(cleared.status, JSON.stringify(cleared.body)).toBe(200)
    expect(cleared.body.connection.userHost).toBe('%')
    const noHost = await callRoute(clusterRoute.PATCH, {
      token: staff.token,
      params: { id: clusterId },
      body: { version: version + 2, connection: { host: null } },
    })
    expect(fieldsOf(noHost.body)).toEqual(['connection.host'])
    const tested = await callRoute(clusterTestRoute.POST, { token: staff.token, params: { id: clusterId } })
    expect(tested.body).toMatchObject({ ok: true, error: null })
  })

  it('deletes a cluster with no resources; one with resources is refused', async () => {
    expect((await callRoute(clusterRoute.DELETE, { token: staff.token, params: { id: clusterId } })).status).toBe(204)
    expect((await callRoute(clusterRoute.GET, { token: staff.token, params: { id: clusterId } })).status).toBe(404)
  })
})

describe('resources API', () => {
  beforeAll(async () => {
    const cluster = await callRoute(clustersRoute.POST, { token: staff.token, body: mysqlBody() })
    const box = getSecretBox(getConfig())
    const names = { username: `tenon_${uniq()}`, databases: { openedx: `tenon_${uniq()}_openedx` } }
    const row = await db().resource.create({
      data: {
        instanceId: instance.id,
        kind: 'mysql',
        clusterId: cluster.body.id,
        state: 'ready',
        names,
        password: box.encrypt(dbPassword),
        credentials: sealJson(box, {
          host: MARIADB.host,
          port: MARIADB.port,
          username: names.username,
          password: dbPassword,
          databases: names.databases,
        }),
        readyAt: new Date(),
      },
    })
    resourceId = row.id
    resourceClusterId = cluster.body.id
    expect((await callRoute(clusterRoute.DELETE, { token: staff.token, params: { id: cluster.body.id } })).status).toBe(409)
  })

  it('shows staff where a resource lives; clients its kind and state only; strangers nothing', async () => {
    const asStaff = await callRoute(instanceResourcesRoute.GET, { token: staff.token, params: { id: instance.id } })
    expect(asStaff.body.resources[0]).toMatchObject({
      kind: 'mysql',
      state: 'ready',
      cluster: { name: expect.any(String) },
      names: { username: expect.any(String) },
    })
    expect(asStaff.body.notConfigured).toEqual(expect.arrayContaining(['mongodb', 'rabbitmq', 's3']))
    const asClient = await callRoute(instanceResourcesRoute.GET, { token: client.token, params: { id: instance.id } })
    expect(asClient.status).toBe(200)
    expect(asClient.body.resources[0]).toMatchObject({ kind: 'mysql', state: 'ready', cluster: null, names: null, lastError: null })
    expect(JSON.stringify(asClient.body)).not.toContain(dbPassword)
    expect((await callRoute(instanceResourcesRoute.GET, { token: stranger.token, params: { id: instance.id } })).status).toBe(404)
    expect((await callRoute(resourceRoute.GET, { token: stranger.token, params: { id: resourceId } })).status).toBe(404)
    expect((await callRoute(resourceRoute.GET, { token: client.token, params: { id: resourceId } })).body.cluster).toBeNull()
  })

  it('reveals credentials to staff only, and audits each reveal', async () => {
    expect((await callRoute(credentialsRoute.POST, { token: client.token, params: { id: resourceId } })).status).toBe(403)
    // A staff-only route answers every client 403 before looking anything up, so it tells nobody what exists.
    expect((await callRoute(credentialsRoute.POST, { token: stranger.token, params: { id: resourceId } })).status).toBe(403)
    const res = await callRoute(credentialsRoute.POST, { token: staff.token, params: { id: resourceId } })
    expect(res.status).toBe(200)
    expect(res.body.credentials.password).toBe(dbPassword)
    const audit = await auditOf(resourceId)
    expect(audit.map((e) => e.action)).toContain('resource.credentials_revealed')
    expect(JSON.stringify(audit.map((e) => e.diff))).not.toContain(dbPassword)
  })

  it('lets staff ask for a rotation and a retry; clients may not', async () => {
    expect((await callRoute(rotateRoute.POST, { token: client.token, params: { id: resourceId } })).status).toBe(403)
    expect((await callRoute(retryRoute.POST, { token: client.token, params: { id: resourceId } })).status).toBe(403)
    const rotate = await callRoute(rotateRoute.POST, { token: staff.token, params: { id: resourceId } })
    expect(rotate.status).toBe(202)
    expect(rotate.body.rotationPending).toBe(true)
    expect((await callRoute(rotateRoute.POST, { token: staff.token, params: { id: resourceId } })).status).toBe(409)
  })

  it('archive, restore and destroy-now: typed confirmation, and nothing destroyed before the final export', async () => {
    const archived = await callRoute(instanceRoute.DELETE, {
      token: staff.token,
      params: { id: instance.id },
      query: { confirm: instance.slug },
    })
    expect(archived.status).toBe(200)
    expect(archived.body).toMatchObject({ status: 'archived', purgeAfter: null })
    expect(
      (await callRoute(purgeRoute.POST, { token: client.token, params: { id: instance.id }, query: { confirm: instance.slug } })).status,
    ).toBe(403)
    expect((await callRoute(purgeRoute.POST, { token: staff.token, params: { id: instance.id }, query: { confirm: 'nope' } })).status).toBe(
      400,
    )
    const early = await callRoute(purgeRoute.POST, { token: staff.token, params: { id: instance.id }, query: { confirm: instance.slug } })
    expect(early.status).toBe(409)
    expect(early.body.error.message).toMatch(/final export/)
    expect((await db().resource.findUniqueOrThrow({ where: { id: resourceId } })).state).toBe('ready')
    expect((await callRoute(restoreRoute.POST, { token: client.token, params: { id: instance.id } })).status).toBe(403)
    const restored = await callRoute(restoreRoute.POST, { token: staff.token, params: { id: instance.id } })
    expect(restored.status).toBe(200)
    expect(restored.body).toMatchObject({ status: 'new', archivedAt: null })
    expect((await callRoute(restoreRoute.POST, { token: staff.token, params: { id: instance.id } })).status).toBe(409)
  })

  it('changing a cluster’s settings ensures its ready resources again (their credentials carry the address)', async () => {
    const current = await callRoute(clusterRoute.GET, { token: staff.token, params: { id: resourceClusterId } })
    const res = await callRoute(clusterRoute.PATCH, {
      token: staff.token,
      params: { id: resourceClusterId },
      body: { version: current.body.version, connection: { userHost: '10.%' } },
    })
    expect(res.status, JSON.stringify(res.body)).toBe(200)
    expect((await db().resource.findUniqueOrThrow({ where: { id: resourceId } })).state).toBe('provisioning')
    const audit = await auditOf(resourceClusterId)
    expect(audit.find((e) => e.action === 'cluster.updated')?.diff).toMatchObject({ resourcesRechecked: { after: 1 } })
  })
})
