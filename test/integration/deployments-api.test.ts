/**
 * The deployment API over the shared integration database, with no worker: deployments stay `building`
 * with their appservers `new`, which is all these routes need. Covers who may do what (staff, a client of
 * the instance's organization, a client of another one), what each sees, and the audit trail.
 */
import { randomUUID } from 'node:crypto'
import { beforeAll, describe, expect, it } from 'vitest'
import * as appserverRoute from '@/app/api/v1/appservers/[id]/route'
import * as appserverLogRoute from '@/app/api/v1/appservers/[id]/log/route'
import * as cancelRoute from '@/app/api/v1/instances/[id]/deployments/[deploymentId]/cancel/route'
import * as previewRoute from '@/app/api/v1/instances/[id]/deployments/preview/route'
import * as deploymentsRoute from '@/app/api/v1/instances/[id]/deployments/route'
import { MASK } from '@/lib/blueprints/configuration-diff'
import { getDb } from '@/lib/db/client'
import { callRoute, type JsonBody } from '../support/call-route'
import { createTestOrganization, createTestUser, type TestUser } from '../support/fixtures'
import { auditOf, createInstanceVia, fieldsOf } from './helpers'

const db = () => getDb()
const GENERIC = 'failed (details are visible to hosting staff)'

let staff: TestUser
let client: TestUser
let stranger: TestUser
let instanceId: string
let organizationId: string

beforeAll(async () => {
  staff = await createTestUser({ staff: true })
  organizationId = (await createTestOrganization()).id
  client = await createTestUser({ organizationId, role: 'owner' })
  stranger = await createTestUser({ organizationId: (await createTestOrganization()).id, role: 'owner' })
  instanceId = (await createInstanceVia(staff.token, organizationId)).id
  await db().instance.update({ where: { id: instanceId }, data: { appserverCount: 2 } })
})

const deploy = (token: string, body: unknown = { action: 'deploy' }, id = instanceId) =>
  callRoute(deploymentsRoute.POST, { token, params: { id }, body })
const list = (token: string, id = instanceId) => callRoute(deploymentsRoute.GET, { token, params: { id } })
const preview = (token: string, id = instanceId) => callRoute(previewRoute.GET, { token, params: { id } })
const cancel = (token: string, deploymentId: string, id = instanceId) =>
  callRoute(cancelRoute.POST, { token, params: { id, deploymentId } })
const appserver = (token: string, id: string) => callRoute(appserverRoute.GET, { token, params: { id } })
const appserverLog = (token: string, id: string, query: Record<string, string | number | undefined> = {}) =>
  callRoute(appserverLogRoute.GET, { token, params: { id }, query })

/** The audit actions about the instance, oldest first. */
const actionsOf = async (id: string) => (await auditOf(id)).map((e) => e.action)

describe('deploying through the API', () => {
  let first: JsonBody

  it('staff POST deploy → 202 with a building deployment of N new appservers, audited', async () => {
    const res = await deploy(staff.token)
    expect(res.status, JSON.stringify(res.body)).toBe(202)
    first = res.body
    expect(first).toMatchObject({
      instanceId,
      number: 1,
      status: 'building',
      trigger: 'deploy',
      driver: 'local',
      appserverCount: 2,
      rollbackOfId: null,
      rolloutId: null,
      requestedBy: staff.email,
      error: null,
      activatedAt: null,
    })
    expect(first.appservers.map((a: JsonBody) => [a.index, a.state])).toEqual([
      [1, 'new'],
      [2, 'new'],
    ])
    const rows = await db().appserver.findMany({ where: { deploymentId: first.id } })
    expect(rows).toHaveLength(2)

    const entry = (await auditOf(instanceId)).find((e) => e.action === 'deployment.created')
    expect(entry).toMatchObject({ actorId: staff.id, targetType: 'instance', organizationId })
    expect(entry?.apiTokenId).not.toBeNull()
    expect(JSON.stringify(entry?.diff)).toContain('"deployment"')
  })

  it('a second POST while one is building → 409 naming the deployment in progress', async () => {
    const res = await deploy(staff.token)
    expect(res.status).toBe(409)
    expect(res.body.error.code).toBe('conflict')
    expect(res.body.error.message).toMatch(/Deployment #1 .*already in progress/)
    expect(res.body.error.current).toEqual({ deploymentId: first.id, number: 1, status: 'building' })
    expect(await db().deployment.count({ where: { instanceId } })).toBe(1)
  })

  it('invalid bodies → 400 naming the field; nothing is created', async () => {
    const bad = await deploy(staff.token, { action: 'nope' })
    expect(bad.status).toBe(400)
    expect(fieldsOf(bad.body)).toEqual(['action'])
    const unknown = await deploy(staff.token, { action: 'deploy', force: true })
    expect(unknown.status).toBe(400)
    expect(fieldsOf(unknown.body)).toEqual(['force'])
    const notUuid = await deploy(staff.token, { action: 'rollback', deploymentId: 'number-one' })
    expect(notUuid.status).toBe(400)
    expect(fieldsOf(notUuid.body)).toEqual(['deploymentId'])
    const badInstance = await deploy(staff.token, { action: 'deploy' }, 'not-an-id')
    expect(badInstance.status).toBe(404)
    expect(await db().deployment.count({ where: { instanceId } })).toBe(1)
  })

  it('a client of the organization cannot deploy, roll back or cancel (403), and nothing changes', async () => {
    const auditBefore = await actionsOf(instanceId)
    for (const res of [
      await deploy(client.token),
      await deploy(client.token, { action: 'rollback' }),
      await cancel(client.token, first.id),
    ]) {
      expect(res.status).toBe(403)
      expect(res.body.error.code).toBe('forbidden')
    }
    expect((await db().deployment.findUniqueOrThrow({ where: { id: first.id } })).status).toBe('building')
    expect(await actionsOf(instanceId)).toEqual(auditBefore)
  })

  it('staff can cancel a building deployment: 202, cancelled, audited; cancelling again → 409', async () => {
    const res = await cancel(staff.token, first.id)
    expect(res.status, JSON.stringify(res.body)).toBe(202)
    expect(res.body).toMatchObject({ id: first.id, status: 'cancelled', error: 'cancelled by staff' })
    const entry = (await auditOf(instanceId)).find((e) => e.action === 'deployment.cancelled')
    expect(entry).toMatchObject({ actorId: staff.id, organizationId })
    const again = await cancel(staff.token, first.id)
    expect(again.status).toBe(409)
    expect(again.body.error.message).toMatch(/#1 is cancelled; only a building deployment can be cancelled/)
    expect((await cancel(staff.token, randomUUID())).status).toBe(404)
  })

  it('rollback with nothing to roll back to → 409; to a deployment that is not there → 404', async () => {
    const none = await deploy(staff.token, { action: 'rollback' })
    expect(none.status).toBe(409)
    expect(none.body.error.message).toBe('There is no earlier deployment to roll back to')
    const missing = await deploy(staff.token, { action: 'rollback', deploymentId: randomUUID() })
    expect(missing.status).toBe(404)
    // a deployment that never went live is no rollback target
    const never = await deploy(staff.token, { action: 'rollback', deploymentId: first.id })
    expect(never.status).toBe(409)
    expect(never.body.error.message).toMatch(/was never active/)
  })

  it('after the cancel a new deployment may start (#2), audited as well', async () => {
    const res = await deploy(staff.token)
    expect(res.status).toBe(202)
    expect(res.body).toMatchObject({ number: 2, status: 'building' })
    // every successful mutating call left one entry, in order; refused ones left none
    const actions = (await actionsOf(instanceId)).filter((a) => a.startsWith('deployment.'))
    expect(actions).toEqual(['deployment.created', 'deployment.cancelled', 'deployment.created'])
  })
})

describe('what a client of the organization sees', () => {
  let deploymentId: string
  let appserverId: string

  beforeAll(async () => {
    const d = await db().deployment.findFirstOrThrow({ where: { instanceId, number: 1 }, include: { appservers: true } })
    deploymentId = d.id
    appserverId = d.appservers.find((a) => a.index === 1)!.id
    // What a worker would have recorded: an address, a failure with infrastructure detail, and both kinds of log lines.
    await db().appserver.update({
      where: { id: appserverId },
      data: {
        address: 'http://10.20.30.40:8000',
        externalId: 'tenon-vm-1',
        error: 'OVH quota exceeded in project 1234abcd',
        failedPhase: 'provisioning',
      },
    })
    await db().appserverLogLine.createMany({
      data: [
        { appserverId, kind: 'transition', fromState: 'new', toState: 'provisioning', message: 'local VM requested' },
        { appserverId, kind: 'info', message: 'started process 4242 on 10.20.30.40 port 8000' },
        { appserverId, kind: 'error', message: 'quota exceeded in project 1234abcd' },
        { appserverId, kind: 'transition', fromState: 'provisioning', toState: 'failed', message: 'VM failed' },
      ],
    })
  })

  it('the deployments list: 200, addresses hidden, errors generic', async () => {
    const res = await list(client.token)
    expect(res.status).toBe(200)
    expect(res.body.items.map((d: JsonBody) => d.number)).toEqual([2, 1])
    const d1 = res.body.items[1]
    expect(d1.id).toBe(deploymentId)
    expect(d1.error).toBe(GENERIC)
    const a1 = d1.appservers.find((a: JsonBody) => a.id === appserverId)
    expect(a1).toMatchObject({ address: null, error: GENERIC, failedPhase: 'provisioning' })
    expect(JSON.stringify(res.body)).not.toMatch(/10\.20\.30\.40|quota|cancelled by staff/)

    // staff see the details
    const forStaff = await list(staff.token)
    const s1 = forStaff.body.items[1]
    expect(s1.error).toBe('cancelled by staff')
    expect(s1.appservers.find((a: JsonBody) => a.id === appserverId)).toMatchObject({
      address: 'http://10.20.30.40:8000',
      error: 'OVH quota exceeded in project 1234abcd',
    })
  })

  it('an appserver: its state, but no configuration, address or external id', async () => {
    const res = await appserver(client.token, appserverId)
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({
      id: appserverId,
      deploymentId,
      deploymentNumber: 1,
      instanceId,
      state: 'new',
      address: null,
      externalId: null,
      configuration: null,
      secretKeys: [],
      error: GENERIC,
    })

    const forStaff = await appserver(staff.token, appserverId)
    expect(forStaff.status).toBe(200)
    expect(forStaff.body).toMatchObject({ address: 'http://10.20.30.40:8000', externalId: 'tenon-vm-1', healthPath: '/heartbeat' })
    // staff get the frozen configuration with a mask where each secret goes (the values are stored apart, encrypted)
    expect(forStaff.body.configuration).toMatchObject({ PLATFORM_NAME: expect.any(String) })
    expect(forStaff.body.secretKeys).toEqual(expect.arrayContaining(['OPENEDX_SECRET_KEY', 'JWT_RSA_PRIVATE_KEY']))
    for (const key of forStaff.body.secretKeys) expect(forStaff.body.configuration[key]).toBe(MASK)
    expect(JSON.stringify(forStaff.body.configuration)).not.toContain('PRIVATE KEY-----')
  })

  it('the log: transitions only for a client, every line for staff; paging with `after`', async () => {
    const res = await appserverLog(client.token, appserverId)
    expect(res.status).toBe(200)
    expect(res.body.items.map((l: JsonBody) => [l.kind, l.fromState, l.toState])).toEqual([
      ['transition', 'new', 'provisioning'],
      ['transition', 'provisioning', 'failed'],
    ])
    expect(JSON.stringify(res.body)).not.toMatch(/4242|1234abcd/)

    const forStaff = await appserverLog(staff.token, appserverId)
    expect(forStaff.body.items.map((l: JsonBody) => l.kind)).toEqual(['transition', 'info', 'error', 'transition'])
    const firstId = forStaff.body.items[0].id
    const rest = await appserverLog(staff.token, appserverId, { after: firstId, limit: 2 })
    expect(rest.body.items.map((l: JsonBody) => l.kind)).toEqual(['info', 'error'])
    expect(rest.body.last).toBe(forStaff.body.items[2].id)
    expect((await appserverLog(staff.token, appserverId, { after: 'x' })).status).toBe(400)
  })

  it('the preview is for staff only: 403 for the client, 200 for staff with every secret masked', async () => {
    const denied = await preview(client.token)
    expect(denied.status).toBe(403)
    const res = await preview(staff.token)
    expect(res.status).toBe(200)
    expect(res.body.activeDeployment).toBeNull()
    expect(res.body.configuration).toMatchObject({ OPENEDX_SECRET_KEY: MASK, JWT_RSA_PRIVATE_KEY: MASK })
    for (const change of res.body.changes.filter((c: JsonBody) => c.path.endsWith('SECRET_KEY'))) expect(change.after).toBe(MASK)
    expect(JSON.stringify(res.body)).not.toContain('PRIVATE KEY-----')
  })
})

describe('tenancy: a client of another organization', () => {
  it('gets 404 for the deployments list, the preview, an appserver and its log, exactly as for ids that do not exist', async () => {
    const d = await db().deployment.findFirstOrThrow({ where: { instanceId }, include: { appservers: true } })
    const appserverId = d.appservers[0]!.id
    const missing = randomUUID()
    const pairs = [
      [await list(stranger.token), await list(stranger.token, missing)],
      [await preview(stranger.token), await preview(stranger.token, missing)],
      [await appserver(stranger.token, appserverId), await appserver(stranger.token, missing)],
      [await appserverLog(stranger.token, appserverId), await appserverLog(stranger.token, missing)],
      [await cancel(stranger.token, d.id), await cancel(stranger.token, d.id, missing)],
    ]
    for (const [real, none] of pairs) {
      expect(real!.status).toBe(404)
      expect(real!.body).toEqual(none!.body)
    }
  })

  it('a deploy attempt tells nothing about the instance: 404, the same answer as for an id that does not exist', async () => {
    const real = await deploy(stranger.token)
    const none = await deploy(stranger.token, { action: 'deploy' }, randomUUID())
    expect(real.status).toBe(404)
    expect({ status: real.status, body: real.body }).toEqual({ status: none.status, body: none.body })
    expect(await db().deployment.count({ where: { instanceId, status: 'building' } })).toBe(1)
  })

  it('and a request without a token gets 401', async () => {
    expect((await callRoute(deploymentsRoute.GET, { params: { id: instanceId } })).status).toBe(401)
    expect((await callRoute(deploymentsRoute.POST, { params: { id: instanceId }, body: {} })).status).toBe(401)
  })
})
