import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ProvisionerError, type VmDriver, type VmObservation, type VmRef, type VmSpec } from '@/provisioners/types'
import { createLocalDriver } from '@/provisioners/vm/local'

const ROOT = path.resolve(import.meta.dirname, '../..')
const OWNER = `vmlocal-${randomUUID().slice(0, 8)}`
const OTHER_OWNER = `vmlocal-other-${randomUUID().slice(0, 8)}`
// Long enough to pass validation, and unique so a match in a log can only come from this test.
const SECRET_KEY = `secret-key-${randomUUID()}-${randomUUID()}`
const MYSQL_PASSWORD = `mysql-password-${randomUUID()}`

let tmp: string
let stateDir: string
let driver: VmDriver
const drivers: VmDriver[] = []
const lines: string[] = []
const log = (line: string) => lines.push(line)

function spec(overrides: Record<string, unknown> = {}, appserverId = randomUUID()): VmSpec {
  return {
    appserverId,
    instanceSlug: 'demo',
    healthPath: '/heartbeat',
    configuration: {
      PLATFORM_NAME: 'Demo Academy',
      LMS_HOST: 'demo.hosting.test',
      CMS_HOST: 'studio.demo.hosting.test',
      CONTACT_EMAIL: 'ops@example.test',
      OPENEDX_RELEASE: 'ulmo.1',
      SECRET_KEY,
      MYSQL_PASSWORD,
      FEATURES: { ENABLE_DISCUSSIONS: true },
      ...overrides,
    },
  }
}

/** Pids of live processes carrying both tags, read from /proc here rather than through the driver. */
function pidsWithTags(owner: string, appserverId: string): number[] {
  const pids: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    let args: string[]
    try {
      args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0')
    } catch {
      continue
    }
    if (args.includes(`--tenon-owner=${owner}`) && args.includes(`--tenon-appserver=${appserverId}`)) pids.push(Number(entry))
  }
  return pids
}

async function waitFor<T>(what: () => string, check: () => Promise<T | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what()}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

async function waitForPhase(d: VmDriver, ref: VmRef, phase: VmObservation['phase']): Promise<VmObservation> {
  let last: VmObservation | undefined
  return waitFor(
    () => `phase ${phase} (last: ${JSON.stringify(last)})`,
    async () => {
      last = await d.observe(ref)
      return last.phase === phase && last
    },
  )
}

async function createRunning(d: VmDriver, s: VmSpec): Promise<{ ref: VmRef; address: string }> {
  const ref = await d.create(s, log)
  const observation = await waitForPhase(d, ref, 'running')
  return { ref, address: observation.address ?? '' }
}

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'tenon-vm-local-'))
  stateDir = path.join(tmp, 'appservers')
  driver = createLocalDriver({ stateDir, ownerTag: OWNER })
  drivers.push(driver)
})

afterAll(async () => {
  for (const d of drivers) {
    for (const vm of await d.list()) await d.destroy({ externalId: vm.externalId }, () => {})
  }
  // Whatever a failed test left behind, by its tags: no appserver of this file outlives it.
  for (const owner of [OWNER, OTHER_OWNER]) {
    for (const entry of readdirSync('/proc')) {
      const args = (() => {
        try {
          return readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0')
        } catch {
          return []
        }
      })()
      if (!args.includes(`--tenon-owner=${owner}`)) continue
      try {
        process.kill(Number(entry), 'SIGKILL')
      } catch {
        // exited in the meantime
      }
    }
  }
  await rm(tmp, { recursive: true, force: true })
})

describe('local VM driver', () => {
  it('passes its connection test, and names the problem when the state folder or node is unusable', async () => {
    await driver.testConnection()
    const file = path.join(tmp, 'a-file')
    await writeFile(file, '')
    await expect(createLocalDriver({ stateDir: path.join(file, 'sub'), ownerTag: OWNER }).testConnection()).rejects.toThrow(
      ProvisionerError,
    )
    const badNode = createLocalDriver({ stateDir, ownerTag: OWNER, nodePath: path.join(tmp, 'no-such-node') })
    await expect(badNode.testConnection()).rejects.toThrow(/local testConnection: .*no-such-node does not run/)
    expect(() => createLocalDriver({ stateDir, ownerTag: 'bad tag' })).toThrow(ProvisionerError)
  })

  it('runs the sample app: the page shows the instance, the heartbeat is healthy', async () => {
    const s = spec({ PLATFORM_NAME: 'Demo <Academy>' })
    const ref = await driver.create(s, log)
    expect(ref.externalId).toBe(`local:${s.appserverId}`)
    expect(ref.facts?.pid).toMatch(/^\d+$/)
    const observation = await waitForPhase(driver, ref, 'running')
    expect(observation.address).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)

    const page = await fetch(`${observation.address}/`)
    expect(page.status).toBe(200)
    const html = await page.text()
    expect(html).toContain('Demo &lt;Academy&gt;')
    expect(html).toContain('<html lang="en">')
    expect(html).toContain(`Served by appserver ${s.appserverId}`)
    expect(html).toContain('demo.hosting.test')
    expect(html).not.toContain(SECRET_KEY)

    const heartbeat = await fetch(`${observation.address}/heartbeat`)
    expect(heartbeat.status).toBe(200)
    expect(await heartbeat.json()).toEqual({ status: 'ok', appserver: s.appserverId, release: 'ulmo.1' })
    expect(await driver.configure(ref, s, observation.address ?? '', log)).toEqual({ state: 'done' })

    const dir = path.join(stateDir, s.appserverId)
    expect((await stat(path.join(dir, 'config.json'))).mode & 0o777).toBe(0o600)
    expect((await stat(dir)).mode & 0o777).toBe(0o700)
    expect(JSON.parse(await readFile(path.join(dir, 'config.json'), 'utf8'))).toEqual(s.configuration)
  })

  it("is healthy with Tutor's variable names, as the Open edX blueprint renders them", async () => {
    const s = spec({ SECRET_KEY: undefined, OPENEDX_SECRET_KEY: SECRET_KEY })
    const { address } = await createRunning(driver, s)
    expect((await fetch(`${address}/heartbeat`)).status).toBe(200)
  })

  it('keeps an appserver with an invalid configuration running, answering 503 with the errors', async () => {
    const s = spec({ SECRET_KEY: 'short', LMS_HOST: 'not a host!', PLATFORM_NAME: '' })
    const { address } = await createRunning(driver, s)
    const heartbeat = await fetch(`${address}/heartbeat`)
    expect(heartbeat.status).toBe(503)
    const body = await heartbeat.json()
    expect(body.status).toBe('invalid-configuration')
    expect(body.errors).toEqual([
      'PLATFORM_NAME must be a non-empty string',
      'LMS_HOST must be a host name',
      'SECRET_KEY must be a string of at least 32 characters',
    ])
    expect(JSON.stringify(body)).not.toContain('short')
    // Still up a moment later: the problem stays visible instead of a crash loop.
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect((await driver.observe({ externalId: `local:${s.appserverId}` })).phase).toBe('running')
    expect((await fetch(`${address}/heartbeat`)).status).toBe(503)
  })

  it('starts one process however often create is called', async () => {
    const s = spec()
    const [a, b] = await Promise.all([driver.create(s, log), driver.create(s, log)])
    const c = await driver.create(s, log)
    expect(new Set([a.facts?.pid, b.facts?.pid, c.facts?.pid]).size).toBe(1)
    await waitForPhase(driver, a, 'running')
    expect(await driver.create(s, log)).toEqual(a)
    expect(pidsWithTags(OWNER, s.appserverId)).toEqual([Number(a.facts?.pid)])
  })

  it('leaves the appserver running when the worker process that created it is killed', async () => {
    const s = spec()
    const script = [
      `import { createLocalDriver } from ${JSON.stringify(path.join(ROOT, 'provisioners/vm/local.ts'))}`,
      `const d = createLocalDriver({ stateDir: ${JSON.stringify(stateDir)}, ownerTag: ${JSON.stringify(OWNER)} })`,
      `const ref = await d.create(${JSON.stringify(s)}, () => {})`,
      `console.log('created ' + ref.facts.pid)`,
      'setInterval(() => {}, 1000)',
    ].join('\n')
    // Its own process group, killed as a whole the way a supervisor stops a worker.
    const worker = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: ROOT,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    worker.stdout.on('data', (d: Buffer) => (output += d.toString()))
    worker.stderr.on('data', (d: Buffer) => (output += d.toString()))
    const exited = new Promise((resolve) => worker.once('exit', resolve))
    try {
      await waitFor(
        () => `the worker to create the appserver (output: ${output})`,
        async () => output.includes('created '),
        20_000,
      )
    } finally {
      process.kill(-(worker.pid ?? 0), 'SIGKILL')
      await exited
    }
    const pid = Number(/created (\d+)/.exec(output)?.[1])

    const ref = { externalId: `local:${s.appserverId}` }
    const observation = await waitForPhase(driver, ref, 'running')
    expect(pidsWithTags(OWNER, s.appserverId)).toEqual([pid])
    expect((await fetch(`${observation.address}/heartbeat`)).status).toBe(200)
  })

  it('destroys an appserver: process gone, port closed, folder removed; destroying again is fine', async () => {
    const s = spec()
    const { ref, address } = await createRunning(driver, s)
    await driver.destroy(ref, log)
    expect(pidsWithTags(OWNER, s.appserverId)).toEqual([])
    await expect(fetch(`${address}/heartbeat`)).rejects.toThrow()
    await expect(stat(path.join(stateDir, s.appserverId))).rejects.toThrow(/ENOENT/)
    expect(await driver.observe(ref)).toEqual({ phase: 'gone' })
    await driver.destroy(ref, log)
    expect((await driver.list()).map((vm) => vm.appserverId)).not.toContain(s.appserverId)
    expect(await driver.observe({ externalId: `local:${randomUUID()}` })).toEqual({ phase: 'gone' })
  })

  it('lists only the processes of its own owner tag', async () => {
    const other = createLocalDriver({ stateDir: path.join(tmp, 'other'), ownerTag: OTHER_OWNER })
    drivers.push(other)
    const mine = spec()
    const theirs = spec()
    await Promise.all([createRunning(driver, mine), createRunning(other, theirs)])

    const listed = await driver.list()
    expect(listed).toContainEqual({ appserverId: mine.appserverId, externalId: `local:${mine.appserverId}`, phase: 'running' })
    expect(listed.map((vm) => vm.appserverId)).not.toContain(theirs.appserverId)
    expect((await other.list()).map((vm) => vm.appserverId)).toEqual([theirs.appserverId])
  })

  it('finds and destroys a stray process whose state folder was deleted', async () => {
    const s = spec()
    await createRunning(driver, s)
    await rm(path.join(stateDir, s.appserverId), { recursive: true, force: true })

    const stray = (await driver.list()).find((vm) => vm.appserverId === s.appserverId)
    expect(stray).toEqual({ appserverId: s.appserverId, externalId: `local:${s.appserverId}`, phase: 'failed' })
    expect((await driver.observe({ externalId: `local:${s.appserverId}` })).detail).toMatch(/state folder .* is missing/)
    await driver.destroy({ externalId: `local:${s.appserverId}` }, log)
    expect(pidsWithTags(OWNER, s.appserverId)).toEqual([])
    expect((await driver.list()).map((vm) => vm.appserverId)).not.toContain(s.appserverId)
  })

  it('reports a process that exited as failed, with the end of its stderr', async () => {
    const crashing = path.join(tmp, 'crashing.mjs')
    await writeFile(crashing, "process.stderr.write('starting\\nError: cannot bind\\n'); process.exit(1)\n")
    const d = createLocalDriver({ stateDir, ownerTag: OWNER, appPath: crashing })
    const s = spec()
    const ref = await d.create(s, log)
    const observation = await waitForPhase(d, ref, 'failed')
    expect(observation.detail).toContain('Error: cannot bind')
    // Listed as failed until destroyed, so the reconciler also clears what a dead process left behind.
    expect(await d.list()).toContainEqual({ appserverId: s.appserverId, externalId: ref.externalId, phase: 'failed' })
    await d.destroy(ref, log)
    expect(await d.observe(ref)).toEqual({ phase: 'gone' })
  })

  it('reports a process that never starts listening as pending, then failed after the start timeout', async () => {
    const silent = path.join(tmp, 'silent.mjs')
    // Ignores SIGTERM too, so destroy has to fall back to SIGKILL.
    await writeFile(silent, "process.on('SIGTERM', () => {}); setInterval(() => {}, 1000)\n")
    const d = createLocalDriver({ stateDir, ownerTag: OWNER, appPath: silent, startTimeoutMs: 400, stopTimeoutMs: 300 })
    const s = spec()
    const ref = await d.create(s, log)
    expect((await d.observe(ref)).phase).toBe('pending')
    expect((await waitForPhase(d, ref, 'failed')).detail).toMatch(/did not start listening/)
    await d.destroy(ref, log)
    expect(pidsWithTags(OWNER, s.appserverId)).toEqual([])
    expect(lines.some((line) => line.includes('did not stop') && line.includes('killing it'))).toBe(true)
  })

  it('never writes secrets to the appserver logs or the driver log', async () => {
    const valid = spec()
    const invalid = spec({ LMS_HOST: '' })
    await Promise.all([createRunning(driver, valid), createRunning(driver, invalid)])
    // The port answers a moment before the app's own log line lands in the file.
    const logged = async (file: string, text: string) => {
      const deadline = Date.now() + 5000
      for (;;) {
        const content = await readFile(path.join(stateDir, invalid.appserverId, file), 'utf8')
        if (content.includes(text) || Date.now() > deadline) return content
        await new Promise((r) => setTimeout(r, 50))
      }
    }
    expect(await logged('stdout.log', 'listening on 127.0.0.1:')).toContain('listening on 127.0.0.1:')
    expect(await logged('stderr.log', 'LMS_HOST must be a host name')).toContain('LMS_HOST must be a host name')
    for (const s of [valid, invalid]) {
      for (const file of ['stdout.log', 'stderr.log']) {
        const text = await readFile(path.join(stateDir, s.appserverId, file), 'utf8')
        expect(text).not.toContain(SECRET_KEY)
        expect(text).not.toContain(MYSQL_PASSWORD)
      }
    }
    expect(lines.join('\n')).not.toContain(SECRET_KEY)
    expect(lines.join('\n')).not.toContain(MYSQL_PASSWORD)
  })
})
