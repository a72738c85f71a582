import { randomUUID } from 'node:crypto'
import http from 'node:http'
import { connect, type ChannelModel } from 'amqplib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRabbitmqProvisioner } from '@/provisioners/rabbitmq'
import {
  ownedPrefix,
  type OwnedResourceObject,
  type RabbitmqClusterConnection,
  type ResourceCredentialsOf,
  type ResourceProvisioner,
  type ResourceSpec,
} from '@/provisioners/types'
import { RABBITMQ, requireRabbitmq } from '@/test/support/services'
import { rejection } from '@/test/support/rejection'

type Credentials = ResourceCredentialsOf<'rabbitmq'>

const short = () => randomUUID().slice(0, 6)
const ownerTag = `t${randomUUID().slice(0, 8)}`
const prefix = ownedPrefix('rabbitmq', ownerTag)
const CLUSTER: RabbitmqClusterConnection = { ...RABBITMQ, tls: false }
const enc = encodeURIComponent
const adminAuth = 'Basic ' + Buffer.from(`${RABBITMQ.username}:${RABBITMQ.password}`).toString('base64')

let provisioner: ResourceProvisioner<'rabbitmq'>
/** Users the tests make by hand, outside the provisioner, deleted in afterAll whatever happens. */
const strayUsers: string[] = []
const strayVhosts: string[] = []

function specFor(slug: string): ResourceSpec {
  const name = `${prefix}${slug}-${short()}`
  return { resourceId: randomUUID(), instanceSlug: slug, names: { vhost: name, username: name }, password: `pw-${randomUUID()}` }
}

/** The management API as an operator would use it, bypassing the provisioner. */
async function admin(method: 'GET' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${RABBITMQ.managementUrl}/api${path}`, {
    method,
    headers: { authorization: adminAuth, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(5000),
  })
  const text = await res.text()
  return { status: res.status, json: text ? JSON.parse(text) : undefined }
}

async function permissionsOf(username: string) {
  const { json } = await admin('GET', `/users/${enc(username)}/permissions`)
  if (!Array.isArray(json)) throw new Error(`no permissions list for ${username}`)
  return json.map((p: Record<string, unknown>) => ({ vhost: p.vhost, configure: p.configure, write: p.write, read: p.read }))
}

async function tagsOf(username: string): Promise<unknown> {
  const { json } = await admin('GET', `/users/${enc(username)}`)
  return typeof json === 'object' && json !== null && 'tags' in json ? json.tags : undefined
}

const exactPermissions = (vhost: string) => [{ vhost, configure: '.*', write: '.*', read: '.*' }]

function amqpUrl(c: Credentials): string {
  return `amqp://${enc(c.username)}:${enc(c.password)}@${c.host}:${c.port}/${enc(c.vhost)}`
}

async function openAs(c: Credentials): Promise<ChannelModel> {
  const model = await connect(amqpUrl(c), { timeout: 5000 })
  model.on('error', () => {})
  return model
}

/** What an AMQP login attempt fails with (the test fails if it succeeds). */
async function amqpRefusal(c: Credentials): Promise<string> {
  let model: ChannelModel
  try {
    model = await connect(amqpUrl(c), { timeout: 5000 })
  } catch (err) {
    return err instanceof Error ? err.message : String(err)
  }
  await model.close()
  throw new Error(`${c.username} could open vhost ${c.vhost}`)
}

const byName = (a: OwnedResourceObject, b: OwnedResourceObject) => `${a.type}:${a.name}`.localeCompare(`${b.type}:${b.name}`)

/** A local HTTP server that counts the TCP connections it gets and answers (or, with `hang`, never answers). */
async function startCountingServer(hang = false) {
  let connections = 0
  const server = http.createServer((_req, res) => {
    if (!hang) res.writeHead(500).end('{}')
  })
  server.on('connection', () => connections++)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('the counting server has no TCP port')
  const port = address.port
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    connections: () => connections,
    close: () => {
      server.closeAllConnections()
      return new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

beforeAll(async () => {
  await requireRabbitmq()
  provisioner = createRabbitmqProvisioner(CLUSTER, { ownerTag, timeoutMs: 5000 })
})

afterAll(async () => {
  if (!provisioner) return
  for (const object of await provisioner.list())
    await provisioner.destroy(object.type === 'vhost' ? { vhost: object.name } : { username: object.name })
  for (const user of strayUsers) await admin('DELETE', `/users/${enc(user)}`)
  for (const vhost of strayVhosts) await admin('DELETE', `/vhosts/${enc(vhost)}`)
  await provisioner.close()
})

describe('RabbitMQ provisioner against the real broker', () => {
  it("isolates instances: A's user uses A's vhost and is refused B's", async () => {
    const a = specFor('alpha')
    const b = specFor('beta')
    const credsA = await provisioner.ensure(a)
    const credsB = await provisioner.ensure(b)
    expect(credsA).toEqual({
      host: '127.0.0.1',
      port: 5672,
      vhost: a.names.vhost,
      username: a.names.username,
      password: a.password,
      tls: false,
    })
    await provisioner.verify(a, credsA)
    await provisioner.verify(b, credsB)

    const model = await openAs(credsA)
    try {
      const channel = await model.createChannel()
      await channel.assertQueue('greetings', { durable: false })
      const received = new Promise<string>((resolve) => {
        void channel.consume('greetings', (msg) => {
          if (!msg) return
          channel.ack(msg)
          resolve(msg.content.toString('utf8'))
        })
      })
      channel.sendToQueue('greetings', Buffer.from('hello from A'))
      expect(await received).toBe('hello from A')
      await channel.close()
    } finally {
      await model.close()
    }
    // The queue lives in A's vhost and nowhere else.
    expect((await admin('GET', `/queues/${enc(credsA.vhost)}/greetings`)).status).toBe(200)
    expect((await admin('GET', `/queues/${enc(credsB.vhost)}/greetings`)).status).toBe(404)

    // The login passes and the broker closes the connection instead of opening the vhost (530 NOT_ALLOWED, whose
    // reply text amqplib leaves out of the error); a wrong password would fail earlier, with ACCESS_REFUSED.
    const vhostRefused = /Expected ConnectionOpenOk; got <ConnectionClose|NOT_ALLOWED|530/
    expect(await amqpRefusal({ ...credsA, vhost: credsB.vhost })).toMatch(vhostRefused)
    expect(await amqpRefusal({ ...credsB, vhost: credsA.vhost })).toMatch(vhostRefused)
    const err = await rejection(provisioner.verify(a, { ...credsA, vhost: credsB.vhost }))
    expect(err.provider).toBe('RabbitMQ')
    expect(err.operation).toBe('verify')
    expect(err.retryable).toBe(false)
    expect(err.message).toMatch(/530 NOT_ALLOWED/)
    expect(err.message).toContain(credsB.vhost)
    expect(err.message).not.toContain(a.password)
  })

  it('gives the same result when run twice, and sets drifted password, tags and permissions back', async () => {
    const spec = specFor('twice')
    const user = spec.names.username ?? ''
    const vhost = spec.names.vhost ?? ''
    const steps: string[] = []
    const first = await provisioner.ensure(spec, { onStep: (step) => void steps.push(step) })
    expect(steps).toEqual(['create-vhost', 'create-user', 'set-permissions'])
    expect(provisioner.ensureSteps).toEqual(steps)
    const permissionsFirst = await permissionsOf(user)
    expect(permissionsFirst).toEqual(exactPermissions(vhost))

    const second = await provisioner.ensure(spec)
    expect(second).toEqual(first)
    expect(await permissionsOf(user)).toEqual(permissionsFirst)
    const { json: users } = await admin('GET', '/users?columns=name')
    expect(Array.isArray(users) && users.filter((u: { name: string }) => u.name === user)).toHaveLength(1)
    expect(await tagsOf(user)).toEqual([])

    // An operator changes things by hand: another password, a tag, rights on another vhost.
    const drifted = `drift-${randomUUID()}`
    expect((await admin('PUT', `/users/${enc(user)}`, { password: drifted, tags: 'management' })).status).toBe(204)
    expect((await admin('PUT', `/permissions/%2F/${enc(user)}`, { configure: '.*', write: '.*', read: '.*' })).status).toBe(201)
    expect((await admin('PUT', `/topic-permissions/%2F/${enc(user)}`, { exchange: 'amq.topic', write: '.*', read: '.*' })).status).toBe(201)

    const third = await provisioner.ensure(spec)
    expect(third).toEqual(first)
    expect(await permissionsOf(user)).toEqual(exactPermissions(vhost))
    expect((await admin('GET', `/users/${enc(user)}/topic-permissions`)).json).toEqual([])
    expect(await tagsOf(user)).toEqual([])
    await provisioner.verify(spec, third)
    expect(await amqpRefusal({ ...third, password: drifted })).toMatch(/ACCESS_REFUSED|403/)
  })

  it('completes after a failure at each step, with the result of a clean run', async () => {
    for (const [index, failingStep] of provisioner.ensureSteps.entries()) {
      const spec = specFor(`step${index}`)
      const seen: string[] = []
      const failed = provisioner.ensure(spec, {
        onStep: (step) => {
          seen.push(step)
          if (step === failingStep) throw new Error(`stopped at ${step}`)
        },
      })
      await expect(failed).rejects.toThrow(`stopped at ${failingStep}`)
      expect(seen).toEqual(provisioner.ensureSteps.slice(0, index + 1))

      const result = await provisioner.ensure(spec)
      expect(result).toEqual({
        host: CLUSTER.amqpHost,
        port: CLUSTER.amqpPort,
        vhost: spec.names.vhost,
        username: spec.names.username,
        password: spec.password,
        tls: false,
      })
      await provisioner.verify(spec, result)
      expect(await permissionsOf(spec.names.username ?? '')).toEqual(exactPermissions(spec.names.vhost ?? ''))
      expect(await tagsOf(spec.names.username ?? '')).toEqual([])
    }
  })

  it('rotates: the old password is refused at once, open connections are closed, the new one works', async () => {
    const spec = specFor('rotate')
    const user = spec.names.username ?? ''
    const creds = await provisioner.ensure(spec)
    // Tags an operator gave the user survive the rotation.
    expect((await admin('PUT', `/users/${enc(user)}`, { password: spec.password, tags: 'monitoring' })).status).toBe(204)

    const open = await openAs(creds)
    const closed = new Promise<string>((resolve) => open.on('close', (err?: Error) => resolve(String(err))))
    const next = { ...spec, password: `pw-${randomUUID()}` }
    const rotated = await provisioner.rotate(next, creds)
    expect(rotated).toEqual({ ...creds, password: next.password })

    const stillOpen = new Promise<string>((resolve) => setTimeout(() => resolve('still open'), 10_000))
    expect(await Promise.race([closed, stillOpen])).toMatch(/CONNECTION_FORCED|320/)
    expect(await amqpRefusal(creds)).toMatch(/ACCESS_REFUSED|403/)
    const err = await rejection(provisioner.verify(spec, creds))
    expect(err.retryable).toBe(false)
    expect(err.message).toMatch(/ACCESS_REFUSED|403/)
    expect(err.message).not.toContain(spec.password)
    await provisioner.verify(next, rotated)
    expect(await tagsOf(user)).toEqual(['monitoring'])
    expect(await permissionsOf(user)).toEqual(exactPermissions(spec.names.vhost ?? ''))

    // Idempotent for one password.
    expect(await provisioner.rotate(next, rotated)).toEqual(rotated)
    await provisioner.verify(next, rotated)

    const missing = await rejection(provisioner.rotate(specFor('never'), creds))
    expect(missing.message).toMatch(/does not exist/)
  })

  it('destroys everything it made, twice without complaint, from partial names too; lists only its own', async () => {
    const notOurs = `${ownerTag}x-${short()}`
    strayVhosts.push(notOurs)
    expect((await admin('PUT', `/vhosts/${enc(notOurs)}`, {})).status).toBe(201)

    const before = (await provisioner.list()).sort(byName)
    for (const object of before) expect(object.name.startsWith(prefix)).toBe(true)
    expect(before.map((o) => o.name)).not.toContain(notOurs)

    const spec = specFor('gone')
    const name = spec.names.vhost ?? ''
    await provisioner.ensure(spec)
    const withNew: OwnedResourceObject[] = [...before, { type: 'vhost', name }, { type: 'user', name }]
    expect((await provisioner.list()).sort(byName)).toEqual(withNew.sort(byName))
    const lines: string[] = []
    await provisioner.destroy(spec.names, (line) => lines.push(line))
    expect((await provisioner.list()).sort(byName)).toEqual(before)
    expect((await admin('GET', `/vhosts/${enc(name)}`)).status).toBe(404)
    expect((await admin('GET', `/users/${enc(name)}`)).status).toBe(404)
    await provisioner.destroy(spec.names, (line) => lines.push(line))
    expect(lines.join('\n')).toMatch(/already gone/)
    expect(lines.join('\n')).not.toContain(spec.password)

    const partial = specFor('partial')
    const partialName = partial.names.vhost ?? ''
    await provisioner.ensure(partial)
    await provisioner.destroy({ vhost: partialName })
    expect((await admin('GET', `/vhosts/${enc(partialName)}`)).status).toBe(404)
    expect((await admin('GET', `/users/${enc(partialName)}`)).status).toBe(200)
    await provisioner.destroy({ username: partialName })
    expect((await admin('GET', `/users/${enc(partialName)}`)).status).toBe(404)
    await provisioner.destroy({})
    expect((await provisioner.list()).sort(byName)).toEqual(before)
    expect((await admin('GET', `/vhosts/${enc(notOurs)}`)).status).toBe(200)
  })

  it('tests the administrator connection and says what is wrong', async () => {
    await provisioner.testConnection()

    const wrong = `wrong-${randomUUID()}`
    const refused = await rejection(createRabbitmqProvisioner({ ...CLUSTER, password: wrong }, { ownerTag }).testConnection())
    expect(refused.provider).toBe('RabbitMQ')
    expect(refused.message).toMatch(/refused the credentials/)
    expect(refused.message).not.toContain(wrong)
    expect(refused.retryable).toBe(false)

    const monitor = `${prefix}monitor-${short()}`
    const monitorPassword = `pw-${randomUUID()}`
    strayUsers.push(monitor)
    expect((await admin('PUT', `/users/${enc(monitor)}`, { password: monitorPassword, tags: 'management' })).status).toBe(201)
    const notAdmin = await rejection(
      createRabbitmqProvisioner({ ...CLUSTER, username: monitor, password: monitorPassword }, { ownerTag }).testConnection(),
    )
    expect(notAdmin.message).toMatch(/lacks the administrator tag/)
    expect(notAdmin.message).toContain(monitor)
    expect(notAdmin.message).not.toContain(monitorPassword)
    expect(notAdmin.retryable).toBe(false)
    await admin('DELETE', `/users/${enc(monitor)}`)

    const unreachable = await rejection(
      createRabbitmqProvisioner({ ...CLUSTER, managementUrl: 'http://127.0.0.1:1' }, { ownerTag, timeoutMs: 2000 }).testConnection(),
    )
    expect(unreachable.retryable).toBe(true)
    expect(unreachable.message).toMatch(/cannot reach the management API/)

    const silent = await startCountingServer(true)
    try {
      const hung = await rejection(
        createRabbitmqProvisioner({ ...CLUSTER, managementUrl: silent.url }, { ownerTag, timeoutMs: 300 }).testConnection(),
      )
      expect(hung.retryable).toBe(true)
      expect(hung.message).toMatch(/no answer from the management API .* within 300 ms/)
    } finally {
      await silent.close()
    }

    const name = `${prefix}nowhere-${short()}`
    const noBroker = await rejection(
      provisioner.verify(specFor('nowhere'), {
        host: '127.0.0.1',
        port: 1,
        vhost: name,
        username: name,
        password: 'pw-nowhere',
        tls: false,
      }),
    )
    expect(noBroker.retryable).toBe(true)
    expect(noBroker.message).not.toContain('pw-nowhere')

    const failing = await startCountingServer()
    try {
      const serverError = await rejection(createRabbitmqProvisioner({ ...CLUSTER, managementUrl: failing.url }, { ownerTag }).list())
      expect(serverError.retryable).toBe(true)
      expect(serverError.message).toMatch(/HTTP 500/)
    } finally {
      await failing.close()
    }
  })

  it('refuses bad names before any call, and accepts a 255-character one', async () => {
    const server = await startCountingServer()
    try {
      const offline = createRabbitmqProvisioner({ ...CLUSTER, managementUrl: server.url, amqpPort: server.port }, { ownerTag })
      const good = `${prefix}fine-${short()}`
      const bad = ['', 'Upper', 'under_score', 'slash/name', 'dot.name', 'space name', 'café', '%2F', 'a'.repeat(256)]
      const creds: Credentials = { host: '127.0.0.1', port: server.port, vhost: good, username: good, password: 'pw', tls: false }
      const base: ResourceSpec = { resourceId: randomUUID(), instanceSlug: 'fine', names: {}, password: 'pw' }
      for (const name of bad) {
        const attempts: Promise<unknown>[] = [
          offline.ensure({ ...base, names: { vhost: name, username: good } }),
          offline.ensure({ ...base, names: { vhost: good, username: name } }),
          offline.rotate({ ...base, names: { vhost: good, username: name } }, creds),
          offline.destroy({ vhost: good, username: name }),
          offline.destroy({ vhost: name, username: good }),
          offline.verify(base, { ...creds, vhost: name }),
          offline.verify(base, { ...creds, username: name }),
        ]
        for (const attempt of attempts) {
          const err = await rejection(attempt)
          expect(err.message).toMatch(/is not a valid name/)
          expect(err.retryable).toBe(false)
        }
      }
      expect((await rejection(offline.ensure({ ...base, names: { username: good } }))).message).toMatch(/no vhost/)
      expect((await rejection(offline.ensure({ ...base, names: { vhost: good } }))).message).toMatch(/no username/)
      expect(server.connections()).toBe(0)
    } finally {
      await server.close()
    }

    const longest = specFor('')
    const name = `${prefix}${'x'.repeat(255 - prefix.length)}`
    longest.names = { vhost: name, username: name }
    const result = await provisioner.ensure(longest)
    await provisioner.verify(longest, result)
    await provisioner.destroy(longest.names)
    expect((await admin('GET', `/vhosts/${enc(name)}`)).status).toBe(404)
  })
})
