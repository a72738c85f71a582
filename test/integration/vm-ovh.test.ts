import { execFile, spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import net from 'node:net'
import { hostname, tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import ovh from 'ovh'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createOvhDriver, type OvhDriverOptions } from '@/provisioners/vm/ovh'
import { ProvisionerError, type VmDriver, type VmObservation, type VmRef, type VmSpec, vmName } from '@/provisioners/types'
import { type OvhDouble, startOvhDouble } from '@/test/fakes/ovh/server'
import { rejection } from '@/test/support/rejection'

const OWNER = 'ovhtest'
const SECRET = 'hunter2-do-not-log-this-value'
const LOCAL_PLAYBOOK = path.resolve(import.meta.dirname, '../fakes/ovh/local-playbook.yml')

let double: OvhDouble
let untrust: () => void
let work: string

beforeAll(async () => {
  await promisify(execFile)('ansible-playbook', ['--version']).catch(() => {
    throw new Error('ansible-playbook not found: install ansible-core (.ci/run does: apt-get install ansible-core)')
  })
  // The double's clock runs 20 minutes ahead, past the skew it accepts: requests only verify if the client
  // signs with the time /auth/time gives.
  double = await startOvhDouble({ bootDelayMs: 20, clockOffsetSeconds: 1200 })
  untrust = double.trustInThisProcess()
  work = await mkdtemp(path.join(tmpdir(), 'vm-ovh-'))
})

afterAll(async () => {
  // A test that failed half-way may leave its run going: stop the ones this file started.
  const runs = path.join(work, 'runs')
  for (const id of await readdir(runs).catch(() => [])) {
    const record = await readFile(path.join(runs, id, 'run.json'), 'utf8').catch(() => '')
    const pid = record ? Number(JSON.parse(record).pid) : 0
    if (pid > 1 && record.includes(hostname())) {
      try {
        process.kill(-pid, 'SIGTERM')
      } catch {
        // finished already
      }
    }
  }
  untrust?.()
  await double?.close()
  if (work) await rm(work, { recursive: true, force: true })
})

function makeDriver(overrides: Partial<OvhDriverOptions> = {}): VmDriver {
  return createOvhDriver({
    endpoint: double.url,
    appKey: double.credentials.appKey,
    appSecret: double.credentials.appSecret,
    consumerKey: double.credentials.consumerKey,
    projectId: double.credentials.projectId,
    region: 'GRA11',
    flavorId: 'b3-8',
    imageId: 'ubuntu-24.04-image-id',
    ownerTag: OWNER,
    sshKeySecret: 'test-ssh-key-secret',
    ansible: { playbook: LOCAL_PLAYBOOK, runDir: path.join(work, 'runs'), configFile: 'ansible/ansible.cfg' },
    requestTimeoutMs: 5_000,
    ...overrides,
  })
}

function spec(configuration: Record<string, unknown> = {}): VmSpec {
  return { appserverId: randomUUID(), instanceSlug: 'demo', configuration, healthPath: '/heartbeat' }
}

const lines: string[] = []
const log = (line: string) => void lines.push(line)

async function until<T>(look: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await look()
    if (done(value) || Date.now() > deadline) return value
    await new Promise((r) => setTimeout(r, 25))
  }
}

describe('OVH driver: API calls', () => {
  it('signs its calls as OVH verifies them, and a wrong secret is refused', async () => {
    await expect(makeDriver().testConnection()).resolves.toBeUndefined()

    const error = await rejection(makeDriver({ appSecret: 'not-the-secret' }).testConnection())
    expect(error.provider).toBe('ovh')
    expect(error.operation).toBe('test connection')
    expect(error.message).toMatch(/HTTP 400: Invalid signature/)
    expect(error.retryable).toBe(false)
    expect(double.requests().some((r) => r.authError === 'INVALID_SIGNATURE')).toBe(true)

    const unknownConsumer = await rejection(makeDriver({ consumerKey: 'nobody' }).testConnection())
    expect(unknownConsumer.message).toMatch(/HTTP 403: This credential does not exist/)
    const unknownProject = await rejection(makeDriver({ projectId: 'no-such-project' }).testConnection())
    expect(unknownProject.message).toMatch(/HTTP 404/)

    // A client whose clock is off (it skipped /auth/time) is refused too.
    const skewed = ovh({ ...double.credentials, host: double.host, port: double.port, basePath: double.basePath, apiTimeDiff: -3600 })
    await expect(skewed.requestPromised('GET', `/cloud/project/${double.credentials.projectId}`)).rejects.toEqual({
      error: 400,
      message: 'Query out of time',
    })
  })

  it('gives up on an API that does not answer, with a retryable error', async () => {
    const sockets = new Set<net.Socket>()
    const silent = net.createServer((socket) => void sockets.add(socket))
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    const address = silent.address()
    if (address === null || typeof address === 'string') throw new Error('no address')
    try {
      const started = Date.now()
      const error = await rejection(
        makeDriver({ endpoint: `https://127.0.0.1:${address.port}/1.0`, requestTimeoutMs: 300 }).testConnection(),
      )
      expect(error.retryable).toBe(true)
      expect(error.message).toMatch(/no answer within 300 ms|request failed/)
      expect(Date.now() - started).toBeLessThan(3_000)
    } finally {
      for (const socket of sockets) socket.destroy()
      await new Promise((resolve) => silent.close(resolve))
    }
  })

  it('refuses a plain-HTTP endpoint at once (the OVH client only speaks HTTPS)', () => {
    expect(() => makeDriver({ endpoint: 'http://127.0.0.1:1/1.0' })).toThrow(ProvisionerError)
  })
})

describe('OVH driver: instances', () => {
  it('creates an instance with its own SSH key and cloud-init, then sees it boot', async () => {
    // long enough that the first look, after the checks below, still sees it building on a loaded machine
    double.slowBoot(3000)
    const s = spec({ PLATFORM_NAME: 'Demo', SECRET_PASSWORD: SECRET })
    const driver = makeDriver()
    const ref = await driver.create(s, log)

    const instance = double.instances().find((i) => i.id === ref.externalId)
    const key = double.sshKeys().find((k) => k.id === ref.facts?.sshKeyId)
    expect(instance?.name).toBe(vmName(OWNER, s.appserverId))
    expect(instance?.sshKeyId).toBe(key?.id)
    expect(key?.name).toBe(vmName(OWNER, s.appserverId))
    expect(key?.publicKey).toMatch(/^ssh-ed25519 /)
    expect(ref.facts?.region).toBe('GRA11')
    expect(ref.secrets?.sshPrivateKey).toMatch(/^-----BEGIN OPENSSH PRIVATE KEY-----\n/)
    // The private key matches the registered public key (ssh-keygen derives one from the other).
    const keyFile = path.join(work, 'check-key')
    await writeFile(keyFile, ref.secrets?.sshPrivateKey ?? '', { mode: 0o600 })
    const { stdout } = await promisify(execFile)('ssh-keygen', ['-y', '-f', keyFile])
    expect(stdout.trim().split(' ').slice(0, 2)).toEqual(key?.publicKey.split(' ').slice(0, 2))
    // cloud-init prepares the SSH user; the configuration (and its secrets) never travels in user data.
    expect(instance?.userData).toMatch(/^#cloud-config\n/)
    expect(instance?.userData).toContain(key?.publicKey)
    expect(instance?.userData).toContain('name: ubuntu')
    expect(instance?.userData).not.toContain(SECRET)
    expect(instance?.userData).not.toContain('Demo')

    expect(await driver.observe(ref)).toMatchObject({ phase: 'pending', detail: 'OVH instance status BUILD' })
    const running = await until(
      () => driver.observe(ref),
      (o) => o.phase !== 'pending',
    )
    expect(running).toMatchObject({ phase: 'running', address: 'http://127.0.0.1:80' })
  })

  it('reports the address on the configured port and the configured public IP', async () => {
    double.setPublicIp('127.0.0.2')
    try {
      const driver = makeDriver({ appserverPort: 8080 })
      const ref = await driver.create(spec(), log)
      const running = await until(
        () => driver.observe(ref),
        (o) => o.phase === 'running',
      )
      expect(running.address).toBe('http://127.0.0.2:8080')
    } finally {
      double.setPublicIp('127.0.0.1')
    }
  })

  it('creating twice for one appserver gives one instance and one key', async () => {
    const s = spec()
    const driver = makeDriver()
    const first = await driver.create(s, log)
    const second = await driver.create(s, log)
    expect(second.externalId).toBe(first.externalId)
    expect(second.secrets?.sshPrivateKey).toBe(first.secrets?.sshPrivateKey)
    const name = vmName(OWNER, s.appserverId)
    expect(double.instances().filter((i) => i.name === name)).toHaveLength(1)
    expect(double.sshKeys().filter((k) => k.name === name)).toHaveLength(1)
  })

  it('answers a used-up quota with a retryable error, and the retry reuses the key it registered', async () => {
    const s = spec()
    const driver = makeDriver()
    double.quotaExceeded()
    const error = await rejection(driver.create(s, log))
    expect(error.operation).toBe('create instance')
    expect(error.retryable).toBe(true)
    expect(error.message).toMatch(/quota is used up.*Quota exceeded for instances/)

    const name = vmName(OWNER, s.appserverId)
    const keyBefore = double.sshKeys().filter((k) => k.name === name)
    expect(keyBefore).toHaveLength(1)
    const ref = await driver.create(s, log)
    expect(ref.facts?.sshKeyId).toBe(keyBefore[0]?.id)
    expect(double.sshKeys().filter((k) => k.name === name)).toHaveLength(1)
  })

  it('replaces a key of its name that holds another public key (a random key from a crashed try)', async () => {
    const s = spec()
    const random = makeDriver({ sshKeySecret: undefined })
    double.quotaExceeded()
    await rejection(random.create(s, log))
    const name = vmName(OWNER, s.appserverId)
    const [stale] = double.sshKeys().filter((k) => k.name === name)
    const ref = await makeDriver().create(s, log)
    const keys = double.sshKeys().filter((k) => k.name === name)
    expect(keys).toHaveLength(1)
    expect(keys[0]?.id).not.toBe(stale?.id)
    expect(ref.facts?.sshKeyId).toBe(keys[0]?.id)
  })

  it('reports an instance that fails to boot as failed', async () => {
    const s = spec()
    const name = vmName(OWNER, s.appserverId)
    double.failBoot((n) => n === name)
    const driver = makeDriver()
    const ref = await driver.create(s, log)
    const seen = await until(
      () => driver.observe(ref),
      (o) => o.phase !== 'pending',
    )
    expect(seen).toEqual<VmObservation>({ phase: 'failed', detail: 'OVH instance status ERROR' })
  })

  it('destroys the instance and its key, and a second destroy is fine', async () => {
    const s = spec()
    const driver = makeDriver()
    const ref = await driver.create(s, log)
    await driver.destroy(ref, log)
    expect((await driver.observe(ref)).phase).toBe('gone')
    expect(double.sshKeys().some((k) => k.id === ref.facts?.sshKeyId)).toBe(false)
    await until(
      async () => double.instances().some((i) => i.id === ref.externalId),
      (present) => !present,
    )
    expect(double.instances().some((i) => i.id === ref.externalId)).toBe(false)
    expect(await driver.observe(ref)).toEqual({ phase: 'gone', detail: 'OVH instance not found' })
    await expect(driver.destroy(ref, log)).resolves.toBeUndefined()
  })

  it('lists only the instances carrying its owner tag', async () => {
    const ours = spec()
    const driver = makeDriver()
    const ref = await driver.create(ours, log)
    const theirs = await makeDriver({ ownerTag: 'someoneelse' }).create(spec(), log)
    const listed = await driver.list()
    expect(listed.map((v) => v.externalId)).toContain(ref.externalId)
    expect(listed.map((v) => v.externalId)).not.toContain(theirs.externalId)
    expect(listed.find((v) => v.externalId === ref.externalId)?.appserverId).toBe(ours.appserverId)
    expect(
      listed.every((v) =>
        double
          .instances()
          .find((i) => i.id === v.externalId)
          ?.name.startsWith(`${OWNER}-as-`),
      ),
    ).toBe(true)
  })
})

// Each test waits on its own ansible-playbook process: they run side by side.
describe.concurrent('OVH driver: configuring with Ansible', () => {
  async function runningVm(configuration: Record<string, unknown>) {
    const s = spec(configuration)
    const driver = makeDriver()
    const ref = await driver.create(s, log)
    const seen = await until(
      () => driver.observe(ref),
      (o) => o.phase === 'running',
    )
    return { driver, ref, s, address: seen.address ?? '' }
  }

  function runFolder(s: VmSpec) {
    return path.join(work, 'runs', s.appserverId)
  }

  it('runs the playbook in the background, streams its log and answers done', async () => {
    const output = await mkdtemp(path.join(work, 'out-'))
    const { driver, ref, s, address } = await runningVm({
      PLATFORM_NAME: 'Test Academy',
      SECRET_PASSWORD: SECRET,
      TEST_OUTPUT_DIR: output,
      TEST_PAUSE_SECONDS: 2,
    })
    const streamed: string[] = []
    const sink = (line: string) => void streamed.push(line)

    const started = Date.now()
    expect(await driver.configure(ref, s, address, sink)).toEqual({ state: 'running' })
    expect(Date.now() - started).toBeLessThan(2_000)
    const dir = runFolder(s)
    const record = JSON.parse(await readFile(path.join(dir, 'run.json'), 'utf8'))
    expect(record.host).toBe(hostname())

    // While it runs: the key and the variables are private files, the command line holds neither.
    expect((await stat(path.join(dir, 'ssh-key'))).mode & 0o777).toBe(0o600)
    expect((await stat(path.join(dir, 'vars.json'))).mode & 0o777).toBe(0o600)
    const cmdlines = await processTreeCommandLines(record.pid)
    expect(cmdlines.join(' ')).toContain('-e @')
    expect(cmdlines.join(' ')).not.toContain(SECRET)

    // A second look while it runs starts nothing new.
    expect(await driver.configure(ref, s, address, sink)).toEqual({ state: 'running' })
    expect(JSON.parse(await readFile(path.join(dir, 'run.json'), 'utf8')).pid).toBe(record.pid)

    const progress = await until(
      () => driver.configure(ref, s, address, sink),
      (p) => p.state !== 'running',
      25_000,
    )
    expect(progress).toEqual({ state: 'done' })
    expect(streamed.filter((l) => l.startsWith('ansible: started'))).toHaveLength(1)
    expect(streamed.some((l) => l.includes('TASK [Report the inventory the driver wrote]'))).toBe(true)
    expect(streamed.some((l) => l.includes('host=127.0.0.1 user=ubuntu'))).toBe(true)
    expect(streamed.some((l) => l.startsWith('PLAY RECAP'))).toBe(true)
    // Every line of the log once, in order.
    const logLines = (await readFile(path.join(dir, 'ansible.log'), 'utf8')).split('\n').filter((l) => l.trim() !== '')
    expect(streamed.filter((l) => !l.startsWith('ansible: '))).toEqual(logLines.map((l) => l.trimEnd()))
    expect(streamed.join('\n')).not.toContain(SECRET)
    expect(streamed.join('\n')).not.toContain('OPENSSH PRIVATE KEY')

    // The variables did reach the play; the key and the variables are gone now.
    const seenByPlay = JSON.parse(await readFile(path.join(output, 'seen.json'), 'utf8'))
    expect(seenByPlay).toMatchObject({
      platform: 'Test Academy',
      secret: SECRET,
      appserver: s.appserverId,
      host: '127.0.0.1',
      user: 'ubuntu',
    })
    await expect(stat(path.join(dir, 'ssh-key'))).rejects.toThrow(/ENOENT/)
    await expect(stat(path.join(dir, 'vars.json'))).rejects.toThrow(/ENOENT/)
    expect(await readFile(path.join(dir, 'inventory.yml'), 'utf8')).toContain('ansible_host: 127.0.0.1')

    // Done stays done, without repeating lines.
    const before = streamed.length
    expect(await driver.configure(ref, s, address, sink)).toEqual({ state: 'done' })
    expect(streamed.length).toBe(before)

    await driver.destroy(ref, log)
    await expect(stat(dir)).rejects.toThrow(/ENOENT/)
  })

  it('answers failed with the playbook error, without secrets', async () => {
    const output = await mkdtemp(path.join(work, 'out-'))
    const { driver, ref, s, address } = await runningVm({
      PLATFORM_NAME: 'Test Academy',
      SECRET_PASSWORD: SECRET,
      TEST_OUTPUT_DIR: output,
      TEST_FAIL: true,
      TEST_FAIL_REASON: 'boom',
    })
    const streamed: string[] = []
    const progress = await until(
      () => driver.configure(ref, s, address, (l) => void streamed.push(l)),
      (p) => p.state !== 'running',
      25_000,
    )
    expect(progress.state).toBe('failed')
    const error = progress.state === 'failed' ? progress.error : ''
    expect(error).toMatch(/exited with code 2/)
    expect(error).toContain('stand-in failure: boom')
    expect(error).not.toContain(SECRET)
    expect(streamed.join('\n')).not.toContain(SECRET)
    await expect(stat(path.join(runFolder(s), 'vars.json'))).rejects.toThrow(/ENOENT/)
  })

  it('starts again when the recorded run died without finishing, and trusts a recent run of another machine', async () => {
    const output = await mkdtemp(path.join(work, 'out-'))
    const { driver, ref, s, address } = await runningVm({ PLATFORM_NAME: 'Test Academy', TEST_OUTPUT_DIR: output })
    const dir = runFolder(s)
    await mkdir(dir, { recursive: true })

    // Another machine started it a minute ago: not ours to restart yet.
    await writeFile(
      path.join(dir, 'run.json'),
      JSON.stringify({ startedAt: new Date(Date.now() - 60_000).toISOString(), host: 'elsewhere', pid: 1 }),
    )
    expect(await driver.configure(ref, s, address, log)).toEqual({ state: 'running' })
    await expect(stat(path.join(dir, 'vars.json'))).rejects.toThrow(/ENOENT/)

    // A run of this machine whose process is gone (a reboot, a kill): started again.
    const deadPid = await exitedProcessId()
    await writeFile(path.join(dir, 'run.json'), JSON.stringify({ startedAt: new Date().toISOString(), host: hostname(), pid: deadPid }))
    const streamed: string[] = []
    expect(await driver.configure(ref, s, address, (l) => void streamed.push(l))).toEqual({ state: 'running' })
    expect(streamed[0]).toMatch(/stopped without finishing; starting it again/)
    const progress = await until(
      () => driver.configure(ref, s, address, log),
      (p) => p.state !== 'running',
      25_000,
    )
    expect(progress).toEqual({ state: 'done' })
  })

  it('destroy stops a run that is still going and removes its files', async () => {
    const output = await mkdtemp(path.join(work, 'out-'))
    const { driver, ref, s, address } = await runningVm({ PLATFORM_NAME: 'Test Academy', TEST_OUTPUT_DIR: output, TEST_PAUSE_SECONDS: 60 })
    expect(await driver.configure(ref, s, address, log)).toEqual({ state: 'running' })
    const { pid } = JSON.parse(await readFile(path.join(runFolder(s), 'run.json'), 'utf8'))
    await driver.destroy(ref, log)
    const alive = await until(
      async () => processAlive(pid),
      (a) => !a,
    )
    expect(alive).toBe(false)
    await expect(stat(runFolder(s))).rejects.toThrow(/ENOENT/)
  })

  it('fails at once for a VM whose SSH key it does not have', async () => {
    const { driver, ref, s, address } = await runningVm({})
    const withoutKey: VmRef = { externalId: ref.externalId, facts: ref.facts }
    expect(await driver.configure(withoutKey, s, address, log)).toMatchObject({
      state: 'failed',
      error: expect.stringMatching(/no SSH private key/),
    })
  })
})

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** The id of a process that has already exited. */
async function exitedProcessId(): Promise<number> {
  const child = spawn('true')
  await new Promise((resolve) => child.once('exit', resolve))
  return child.pid ?? 999_999
}

/** Command lines of a process and its descendants (Linux /proc). */
async function processTreeCommandLines(pid: number): Promise<string[]> {
  const { stdout } = await promisify(execFile)('ps', ['-e', '-o', 'pid=,ppid=,args='])
  const rows = stdout
    .trim()
    .split('\n')
    .map((row) => {
      const [p, pp, ...args] = row.trim().split(/\s+/)
      return { pid: Number(p), ppid: Number(pp), args: args.join(' ') }
    })
  const tree = new Set([pid])
  for (let grew = true; grew;) {
    grew = false
    for (const row of rows) {
      if (tree.has(row.ppid) && !tree.has(row.pid)) {
        tree.add(row.pid)
        grew = true
      }
    }
  }
  return rows.filter((r) => tree.has(r.pid)).map((r) => r.args)
}
