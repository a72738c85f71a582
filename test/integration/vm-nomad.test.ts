import { randomUUID } from 'node:crypto'
import http from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { vmName, type VmDriver, type VmObservation, type VmPhase, type VmRef, type VmSpec } from '@/provisioners/types'
import { createNomadDriver, type NomadDriverOptions } from '@/provisioners/vm/nomad'
import { startNomadDouble, type NomadDouble } from '@/test/fakes/nomad/server'
import { rejection } from '@/test/support/rejection'

const TOKEN = `nomad-token-${randomUUID()}`
const SECRET = `mysql-password-${randomUUID()}`
const short = () => randomUUID().slice(0, 8)

let nomad: NomadDouble
const ownerTag = `t${short()}`

function driverFor(overrides: Partial<NomadDriverOptions> = {}): VmDriver {
  return createNomadDriver({
    address: nomad.url,
    token: TOKEN,
    datacenters: ['dc1'],
    ownerTag,
    image: 'registry.example.test/tenon/openedx:test',
    cpu: 500,
    memoryMb: 1024,
    requestTimeoutMs: 2000,
    ...overrides,
  })
}

function specFor(overrides: Partial<VmSpec> = {}): VmSpec {
  return {
    appserverId: randomUUID(),
    instanceSlug: 'redwood-academy',
    // "{{" would be template syntax to Nomad if the driver passed the configuration unescaped.
    configuration: { MYSQL_PASSWORD: SECRET, SITE_NAME: 'Redwood {{ Academy }}', FEATURES: { ENABLE_DISCUSSIONS: true } },
    healthPath: '/heartbeat',
    ...overrides,
  }
}

async function waitForPhase(driver: VmDriver, ref: VmRef, phase: VmPhase, timeoutMs = 10_000): Promise<VmObservation> {
  const deadline = Date.now() + timeoutMs
  let last: VmObservation | undefined
  while (Date.now() < deadline) {
    last = await driver.observe(ref)
    if (last.phase === phase) return last
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  throw new Error(`still ${JSON.stringify(last)} after ${timeoutMs} ms, wanted ${phase}`)
}

function doubleJob(jobId: string) {
  const job = nomad.jobs().find((j) => j.id === jobId)
  if (!job) throw new Error(`the double has no job ${jobId}`)
  return job
}

/** Registers a job the way any other Nomad user would, bypassing the driver. */
async function registerDirectly(id: string, meta: Record<string, string>) {
  const res = await fetch(`${nomad.url}/v1/jobs`, {
    method: 'PUT',
    headers: { 'x-nomad-token': TOKEN, 'content-type': 'application/json' },
    body: JSON.stringify({
      Job: {
        ID: id,
        Datacenters: ['dc1'],
        Meta: meta,
        TaskGroups: [{ Name: 'web', Tasks: [{ Name: 'web', Driver: 'docker', Config: { image: 'nginx' } }] }],
      },
    }),
  })
  expect(res.status).toBe(200)
}

beforeAll(async () => {
  nomad = await startNomadDouble({ token: TOKEN, bootDelayMs: 100 })
})

afterAll(async () => {
  await nomad?.close()
})

describe('nomad VM driver against the Nomad double', () => {
  it('creates a job that is pending, then running at an address that answers the health path', async () => {
    const driver = driverFor()
    const spec = specFor({ healthPath: '/heartbeat/extended' })
    const lines: string[] = []

    // Held pending until the observation below, then released: no race with a busy machine.
    nomad.setBootDelay(60_000)
    let pending: VmObservation
    let ref: VmRef
    try {
      ref = await driver.create(spec, (line) => lines.push(line))
      pending = await driver.observe(ref)
    } finally {
      nomad.setBootDelay(100)
    }
    const jobId = vmName(ownerTag, spec.appserverId)
    expect(ref.externalId).toBe(jobId)
    expect(pending.phase).toBe('pending')
    expect(pending.address).toBeUndefined()

    const running = await waitForPhase(driver, ref, 'running')
    expect(running.address).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    const health = await fetch(`${running.address}${spec.healthPath}`)
    expect(health.status).toBe(200)
    expect(await health.json()).toEqual({ appserver: spec.appserverId })

    expect(lines.some((l) => l.includes(`registered Nomad job ${jobId}, evaluation `))).toBe(true)
    expect(lines.join('\n')).not.toContain(SECRET)
    expect(await driver.configure(ref, spec, running.address!, () => {})).toEqual({ state: 'done' })
  })

  it('puts the tags, the image, the health check and the configuration into the job spec', async () => {
    const driver = driverFor()
    const spec = specFor()
    const ref = await driver.create(spec, () => {})
    const job = doubleJob(ref.externalId)
    expect(job.meta).toEqual({ tenon_owner: ownerTag, tenon_appserver_id: spec.appserverId, tenon_instance: spec.instanceSlug })

    const submitted = JSON.parse(JSON.stringify(job.spec))
    const group = submitted.TaskGroups[0]
    const task = group.Tasks[0]
    expect(group.Count).toBe(1)
    expect(group.Networks[0].DynamicPorts).toEqual([{ Label: 'http', To: 8000 }])
    expect(group.Services[0].Checks[0]).toMatchObject({ Type: 'http', Path: spec.healthPath })
    expect(group.ReschedulePolicy).toMatchObject({ Attempts: 2, Unlimited: false })
    expect(task).toMatchObject({ Driver: 'docker', Config: { image: 'registry.example.test/tenon/openedx:test', ports: ['http'] } })
    expect(task.Resources).toEqual({ CPU: 500, MemoryMB: 1024 })
    expect(JSON.stringify(task.Env)).not.toContain(SECRET)

    const template: string = task.Templates[0].EmbeddedTmpl
    const encoded = /^\{\{ base64Decode "([A-Za-z0-9+/=]+)" \}\}$/.exec(template)?.[1]
    expect(encoded).toBeDefined()
    expect(JSON.parse(Buffer.from(encoded!, 'base64').toString('utf8'))).toEqual(spec.configuration)
    await driver.destroy(ref, () => {})
  })

  it('makes one job when create runs twice, one after the other or at the same time', async () => {
    const driver = driverFor()
    const spec = specFor()
    const lines: string[] = []
    const first = await driver.create(spec, () => {})
    const second = await driver.create(spec, (line) => lines.push(line))
    expect(second.externalId).toBe(first.externalId)
    expect(doubleJob(first.externalId).registrations).toBe(1)
    expect(lines.join('\n')).toContain('already registered')

    const racing = specFor()
    const refs = await Promise.all([driver.create(racing, () => {}), driver.create(racing, () => {})])
    expect(refs[0].externalId).toBe(refs[1].externalId)
    const job = doubleJob(refs[0].externalId)
    expect(job.registrations).toBe(1)
    expect(job.allocations).toHaveLength(1)
  })

  it('waits while Nomad reschedules a failed allocation, then reports the replacement running', async () => {
    const driver = driverFor()
    nomad.failNextAllocations(1, 'Failed to pull `registry.example.test/tenon/openedx:test`: manifest unknown')
    const ref = await driver.create(specFor(), () => {})

    const running = await waitForPhase(driver, ref, 'running')
    expect((await fetch(`${running.address}/heartbeat`)).status).toBe(200)
    const [failed, replacement] = doubleJob(ref.externalId).allocations
    expect(failed?.clientStatus).toBe('failed')
    expect(failed?.nextAllocation).toBe(replacement?.id)
    expect(replacement?.previousAllocation).toBe(failed?.id)
    expect(replacement?.clientStatus).toBe('running')
  })

  it('reports failed with the task failure message when every allocation fails', async () => {
    const driver = driverFor()
    const spec = specFor()
    nomad.failJobsMatching((job) => job.meta.tenon_appserver_id === spec.appserverId, 'exec /entrypoint.sh: exec format error')
    const ref = await driver.create(spec, () => {})

    const failed = await waitForPhase(driver, ref, 'failed')
    expect(failed.detail).toContain('exec /entrypoint.sh: exec format error')
    const job = doubleJob(ref.externalId)
    expect(job.status).toBe('dead')
    // The first placement and the two reschedule attempts of the driver's policy.
    expect(job.allocations.map((a) => a.clientStatus)).toEqual(['failed', 'failed', 'failed'])
  })

  it('destroys a job (gone afterwards, stand-in task closed) and destroying again is fine', async () => {
    const driver = driverFor()
    const ref = await driver.create(specFor(), () => {})
    const running = await waitForPhase(driver, ref, 'running')

    const lines: string[] = []
    await driver.destroy(ref, (line) => lines.push(line))
    expect(await driver.observe(ref)).toMatchObject({ phase: 'gone' })
    expect(nomad.jobs().some((j) => j.id === ref.externalId)).toBe(false)
    await expect(fetch(`${running.address}/heartbeat`)).rejects.toThrow()

    await driver.destroy(ref, (line) => lines.push(line))
    expect(lines[0]).toContain('stopped and purged')
    expect(lines[1]).toContain('already gone')
  })

  it('lists the jobs carrying its owner tag and ignores everyone else', async () => {
    const tag = `t${short()}`
    const driver = driverFor({ ownerTag: tag })
    const mine = [specFor(), specFor()]
    const refs = await Promise.all(mine.map((spec) => driver.create(spec, () => {})))
    await registerDirectly(`other-as-${randomUUID()}`, {})
    await registerDirectly(`${tag}-as-not-a-uuid`, {})
    await registerDirectly(`${tag}x-as-${randomUUID()}`, { tenon_owner: `${tag}x` })
    await registerDirectly(vmName(tag, randomUUID()), { tenon_owner: 'someone-else' })

    const owned = await driver.list()
    expect(owned.map((vm) => vm.appserverId).sort()).toEqual(mine.map((spec) => spec.appserverId).sort())
    expect(owned.map((vm) => vm.externalId).sort()).toEqual(refs.map((ref) => ref.externalId).sort())
    expect(owned.every((vm) => vm.phase === 'running' || vm.phase === 'pending')).toBe(true)

    await driver.destroy(refs[0]!, () => {})
    expect((await driver.list()).map((vm) => vm.appserverId)).toEqual([mine[1]!.appserverId])
  })

  it('checks the connection and the token', async () => {
    await expect(driverFor().testConnection()).resolves.toBeUndefined()

    for (const token of ['not-the-token', undefined]) {
      const driver = driverFor({ token })
      const err = await rejection(driver.testConnection())
      expect(err.provider).toBe('nomad')
      expect(err.retryable).toBe(false)
      expect(err.message).toContain('HTTP 403')
      expect((await rejection(driver.create(specFor(), () => {}))).message).toMatch(/^nomad read job: HTTP 403/)
      expect((await rejection(driver.list())).operation).toBe('list jobs')
    }
  })

  it('names unreachable and silent servers as retryable errors', async () => {
    const closed = http.createServer()
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
    const closedPort = portOf(closed)
    await new Promise<void>((resolve) => closed.close(() => resolve()))
    const refused = await rejection(driverFor({ address: `http://127.0.0.1:${closedPort}` }).testConnection())
    expect(refused.retryable).toBe(true)
    expect(refused.message).toContain('cannot reach')

    const silent = http.createServer(() => {})
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    try {
      const driver = driverFor({ address: `http://127.0.0.1:${portOf(silent)}`, requestTimeoutMs: 150 })
      const timedOut = await rejection(driver.observe({ externalId: vmName(ownerTag, randomUUID()) }))
      expect(timedOut.retryable).toBe(true)
      expect(timedOut.message).toContain('within 150 ms')
    } finally {
      silent.closeAllConnections()
      await new Promise<void>((resolve) => silent.close(() => resolve()))
    }
  })

  it('reports gone for a job that never existed', async () => {
    expect(await driverFor().observe({ externalId: vmName(ownerTag, randomUUID()) })).toMatchObject({ phase: 'gone' })
  })
})

describe('the Nomad double', () => {
  const get = (path: string, token: string | null = TOKEN) =>
    fetch(`${nomad.url}${path}`, { headers: token ? { 'x-nomad-token': token } : {} })

  it('answers like Nomad for missing jobs, tokens, the leader and index headers', async () => {
    const missing = await get('/v1/job/no-such-job')
    expect(missing.status).toBe(404)
    expect(await missing.text()).toBe('job not found')
    expect((await get('/v1/allocation/00000000-0000-0000-0000-000000000000')).status).toBe(404)

    const anonymous = await get('/v1/jobs', null)
    expect(anonymous.status).toBe(403)
    expect(await anonymous.text()).toBe('Permission denied')
    expect(await (await get('/v1/jobs', 'wrong')).text()).toBe('ACL token not found')

    const leader = await get('/v1/status/leader', null)
    expect(leader.status).toBe(200)
    expect(await leader.json()).toMatch(/:4647$/)
    expect(Number((await get('/v1/jobs')).headers.get('x-nomad-index'))).toBeGreaterThan(0)
    expect((await get('/v1/agent/self')).status).toBe(200)
  })

  it('lists job stubs with Meta only when asked, and reports the address where Nomad does', async () => {
    const driver = driverFor()
    const spec = specFor()
    const ref = await driver.create(spec, () => {})
    const running = await waitForPhase(driver, ref, 'running')

    const plain = await (await get(`/v1/jobs?prefix=${ref.externalId}`)).json()
    expect(plain).toHaveLength(1)
    expect(plain[0]).toMatchObject({ ID: ref.externalId, Status: 'running', Type: 'service' })
    expect(plain[0]).not.toHaveProperty('Meta')
    const withMeta = await (await get(`/v1/jobs?prefix=${ref.externalId}&meta=true`)).json()
    expect(withMeta[0].Meta.tenon_appserver_id).toBe(spec.appserverId)

    const [stub] = await (await get(`/v1/job/${ref.externalId}/allocations`)).json()
    expect(stub).toMatchObject({ JobID: ref.externalId, ClientStatus: 'running', DesiredStatus: 'run', TaskGroup: 'appserver' })
    const alloc = await (await get(`/v1/allocation/${stub.ID}`)).json()
    const port = Number(new URL(running.address!).port)
    expect(alloc.AllocatedResources.Shared.Ports).toEqual([{ Label: 'http', Value: port, To: 8000, HostIP: '127.0.0.1' }])
    expect(alloc.AllocatedResources.Shared.Networks[0]).toMatchObject({ IP: '127.0.0.1', DynamicPorts: [{ Label: 'http', Value: port }] })
    expect(alloc.TaskStates.appserver.State).toBe('running')
  })

  it('makes a stand-in task unhealthy on demand', async () => {
    const driver = driverFor()
    const ref = await driver.create(specFor(), () => {})
    const running = await waitForPhase(driver, ref, 'running')
    nomad.setUnhealthy(ref.externalId)
    expect((await fetch(`${running.address}/heartbeat`)).status).toBe(503)
    nomad.setUnhealthy(ref.externalId, false)
    expect((await fetch(`${running.address}/heartbeat`)).status).toBe(200)
  })

  it('runs many jobs at once and closes every listener on close()', async () => {
    const many = await startNomadDouble({ bootDelayMs: 20 })
    try {
      const driver = createNomadDriver({
        address: many.url,
        datacenters: ['dc1'],
        ownerTag,
        image: 'img',
        cpu: 100,
        memoryMb: 128,
        requestTimeoutMs: 5000,
      })
      const specs = Array.from({ length: 100 }, () => specFor())
      const refs: VmRef[] = []
      for (let i = 0; i < specs.length; i += 50) {
        refs.push(...(await Promise.all(specs.slice(i, i + 50).map((spec) => driver.create(spec, () => {})))))
      }
      const observations = await Promise.all(refs.map((ref) => waitForPhase(driver, ref, 'running', 25_000)))
      expect(new Set(observations.map((o) => o.address)).size).toBe(100)
      await many.close()
      await expect(fetch(`${observations[0]!.address}/heartbeat`)).rejects.toThrow()
    } finally {
      await many.close()
    }
  })
})

function portOf(server: http.Server): number {
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('not listening on TCP')
  return address.port
}
