import { randomUUID } from 'node:crypto'
import net from 'node:net'
import { BSON, MongoClient, MongoServerError } from 'mongodb'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createMongodbProvisioner } from '@/provisioners/mongodb'
import {
  ownedPrefix,
  type MongodbClusterConnection,
  type ResourceCredentialsOf,
  type ResourceProvisioner,
  type ResourceSpec,
} from '@/provisioners/types'
import { startMongodbDouble, type MongodbDouble } from '@/test/fakes/mongodb/server'
import { rejection, rejectionOf } from '@/test/support/rejection'

type Credentials = ResourceCredentialsOf<'mongodb'>

const ADMIN_USER = 'clusteradmin'
const ADMIN_PASSWORD = `admin-pw-${randomUUID()}`
const short = () => randomUUID().slice(0, 6)
const ownerTag = `t${randomUUID().slice(0, 8)}`
const prefix = ownedPrefix('mongodb', ownerTag)

let mongo: MongodbDouble
let cluster: MongodbClusterConnection
let provisioner: ResourceProvisioner<'mongodb'>
/** The administrator as an operator would connect, bypassing the provisioner. */
let operator: MongoClient
const clients: MongoClient[] = []
const provisioners: ResourceProvisioner<'mongodb'>[] = []

function clientFor(address: string, user?: { username: string; password: string; authSource?: string }, extra = ''): MongoClient {
  const auth = user ? `${encodeURIComponent(user.username)}:${encodeURIComponent(user.password)}@` : ''
  const query = user ? `?authSource=${user.authSource ?? 'admin'}${extra}` : extra ? `?${extra.slice(1)}` : ''
  const client = new MongoClient(`mongodb://${auth}${address}/${query}`, { serverSelectionTimeoutMS: 3000, connectTimeoutMS: 3000 })
  clients.push(client)
  return client
}

function asUser(c: Credentials): MongoClient {
  return clientFor(`${c.host}:${c.port}`, c)
}

function provisionerFor(overrides: Partial<MongodbClusterConnection> = {}, timeoutMs = 3000): ResourceProvisioner<'mongodb'> {
  const p = createMongodbProvisioner({ ...cluster, ...overrides }, { ownerTag, timeoutMs })
  provisioners.push(p)
  return p
}

function specFor(slug: string, purposes = ['openedx', 'forum']): ResourceSpec {
  const user = `${prefix}${slug}_${short()}`
  return {
    resourceId: randomUUID(),
    instanceSlug: slug,
    names: { username: user, databases: Object.fromEntries(purposes.map((p) => [p, `${user}_${p}`])) },
    password: `pw-${randomUUID()}`,
  }
}

function expected(spec: ResourceSpec): Credentials {
  return {
    host: '127.0.0.1',
    port: mongo.port,
    username: spec.names.username ?? '',
    password: spec.password,
    databases: { ...spec.names.databases },
    authSource: 'admin',
    tls: false,
  }
}

async function userInfo(username: string) {
  const reply = await operator.db('admin').command({ usersInfo: { user: username, db: 'admin' } })
  const users: unknown = reply.users
  if (!Array.isArray(users)) throw new Error('usersInfo gave no users array')
  return users.map((u: Record<string, unknown>) => ({ user: u.user, db: u.db, roles: u.roles, mechanisms: u.mechanisms }))
}

const exactRoles = (spec: ResourceSpec) =>
  Object.values(spec.names.databases ?? {})
    .sort()
    .map((db) => ({ role: 'readWrite', db }))

const serverError = (promise: Promise<unknown>): Promise<MongoServerError> => rejectionOf(promise, MongoServerError)

/** Logs in with the credentials and writes then reads a document in their first database. */
async function canWrite(c: Credentials): Promise<void> {
  const client = asUser(c)
  try {
    const db = Object.values(c.databases)[0] ?? ''
    const marker = randomUUID()
    await client.db(db).collection('probe').insertOne({ marker })
    expect(await client.db(db).collection('probe').find({ marker }).toArray()).toHaveLength(1)
  } finally {
    await client.close()
  }
}

async function freePort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  if (address === null || typeof address === 'string') throw new Error('no port')
  return address.port
}

beforeAll(async () => {
  mongo = await startMongodbDouble({ adminUser: ADMIN_USER, adminPassword: ADMIN_PASSWORD })
  cluster = { hosts: mongo.address, username: ADMIN_USER, password: ADMIN_PASSWORD, authSource: 'admin', tls: false }
  provisioner = provisionerFor()
  operator = clientFor(mongo.address, { username: ADMIN_USER, password: ADMIN_PASSWORD })
})

afterAll(async () => {
  for (const p of provisioners) await p.close()
  for (const c of clients) await c.close().catch(() => {})
  // Everything the tests made lives in the double's memory: stopping it removes it all.
  await mongo?.stop()
})

describe('the MongoDB wire-protocol double, with the plain driver', () => {
  it('authenticates with SCRAM-SHA-256 and refuses a wrong password or an unknown user with code 18', async () => {
    const good = clientFor(mongo.address, { username: ADMIN_USER, password: ADMIN_PASSWORD })
    expect(await good.db('admin').command({ ping: 1 })).toEqual({ ok: 1 })

    const wrong = await serverError(clientFor(mongo.address, { username: ADMIN_USER, password: 'not-the-password' }).connect())
    expect(wrong.code).toBe(18)
    expect(wrong.codeName).toBe('AuthenticationFailed')
    expect(wrong.message).toBe('Authentication failed.')

    // No such user: the handshake's speculative authentication is declined and the driver's own saslStart fails.
    const unknown = await serverError(clientFor(mongo.address, { username: 'nobody', password: 'whatever' }).connect())
    expect(unknown.code).toBe(18)
  })

  it('lets an unauthenticated connection ping but nothing else, and answers an unknown command with 59', async () => {
    const anonymous = clientFor(mongo.address)
    expect(await anonymous.db('admin').command({ ping: 1 })).toEqual({ ok: 1 })
    const build = await anonymous.db('admin').command({ buildInfo: 1 })
    expect(build.version).toMatch(/^7\./)
    const refused = await serverError(anonymous.db('admin').command({ listDatabases: 1 }))
    expect(refused.code).toBe(13)
    expect(refused.codeName).toBe('Unauthorized')
    await expect(anonymous.db('x').collection('c').insertOne({ a: 1 })).rejects.toMatchObject({ code: 13 })
    const unknown = await serverError(operator.db('admin').command({ frobnicate: 1 }))
    expect(unknown.code).toBe(59)
    expect(unknown.codeName).toBe('CommandNotFound')
  })

  it('speaks OP_QUERY/OP_REPLY for the legacy handshake and OP_MSG with document sequences and a checksum', async () => {
    const socket = net.connect(mongo.port, '127.0.0.1')
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject))
    let pending = Buffer.alloc(0)
    const waiters: ((message: Buffer) => void)[] = []
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk])
      while (pending.length >= 4 && pending.length >= pending.readInt32LE(0)) {
        const length = pending.readInt32LE(0)
        waiters.shift()?.(pending.subarray(0, length))
        pending = pending.subarray(length)
      }
    })
    const exchange = (opCode: number, requestId: number, body: Buffer) =>
      new Promise<Buffer>((resolve) => {
        waiters.push(resolve)
        const header = Buffer.alloc(16)
        header.writeInt32LE(16 + body.length, 0)
        header.writeInt32LE(requestId, 4)
        header.writeInt32LE(opCode, 12)
        socket.write(Buffer.concat([header, body]))
      })
    try {
      const ns = Buffer.from('admin.$cmd\0')
      const skipAndReturn = Buffer.alloc(8)
      skipAndReturn.writeInt32LE(-1, 4)
      const legacy = await exchange(
        2004,
        7,
        Buffer.concat([Buffer.alloc(4), ns, skipAndReturn, BSON.serialize({ isMaster: 1, helloOk: true })]),
      )
      expect(legacy.readInt32LE(8)).toBe(7) // responseTo
      expect(legacy.readInt32LE(12)).toBe(1) // OP_REPLY
      expect(legacy.readInt32LE(32)).toBe(1) // numberReturned
      const hello = BSON.deserialize(legacy.subarray(36))
      expect(hello).toMatchObject({ ok: 1, ismaster: true, helloOk: true })
      expect(hello.maxWireVersion).toBeGreaterThanOrEqual(21)

      // flagBits: checksumPresent; a body section, then a kind 1 document sequence, then the 4 checksum bytes.
      const flags = Buffer.alloc(4)
      flags.writeUInt32LE(1, 0)
      const sequenceDocs = Buffer.concat([BSON.serialize({ id: 1 }), BSON.serialize({ id: 2 })])
      const identifier = Buffer.from('ids\0')
      const sequenceSize = Buffer.alloc(4)
      sequenceSize.writeInt32LE(4 + identifier.length + sequenceDocs.length, 0)
      const msg = Buffer.concat([
        flags,
        Buffer.from([0]),
        BSON.serialize({ endSessions: 1, $db: 'admin' }),
        Buffer.from([1]),
        sequenceSize,
        identifier,
        sequenceDocs,
        Buffer.alloc(4),
      ])
      const answer = await exchange(2013, 8, msg)
      expect(answer.readInt32LE(8)).toBe(8)
      expect(answer.readInt32LE(12)).toBe(2013)
      expect(answer[20]).toBe(0)
      expect(BSON.deserialize(answer.subarray(21))).toEqual({ ok: 1 })

      const noDb = await exchange(2013, 9, Buffer.concat([Buffer.alloc(4), Buffer.from([0]), BSON.serialize({ ping: 1 })]))
      expect(BSON.deserialize(noDb.subarray(21))).toMatchObject({ ok: 0, code: 40571 })
    } finally {
      socket.destroy()
    }
  })
})

describe('MongoDB provisioner against the double', () => {
  it('ensure gives the user readWrite on exactly its databases, which it can use, and nothing on another instance’s', async () => {
    const a = specFor('alpha')
    const b = specFor('beta')
    const lines: string[] = []
    const credsA = await provisioner.ensure(a, { log: (line) => lines.push(line) })
    const credsB = await provisioner.ensure(b)
    expect(credsA).toEqual(expected(a))
    expect(credsA).not.toHaveProperty('replicaSet')
    expect(await userInfo(a.names.username ?? '')).toEqual([
      { user: a.names.username, db: 'admin', roles: exactRoles(a), mechanisms: ['SCRAM-SHA-256'] },
    ])
    expect(lines.join('\n')).not.toContain(a.password)

    await provisioner.verify(a, credsA)

    const userA = asUser(credsA)
    const dbA = credsA.databases.openedx ?? ''
    await userA.db(dbA).collection('courses').insertOne({ key: 'course-v1:A+1+1', title: 'A course' })
    const found = await userA.db(dbA).collection('courses').find({ key: 'course-v1:A+1+1' }).toArray()
    expect(found.map((d) => d.title)).toEqual(['A course'])

    const dbB = credsB.databases.openedx ?? ''
    const refusedInsert = await serverError(userA.db(dbB).collection('courses').insertOne({ key: 'intruder' }))
    expect(refusedInsert.code).toBe(13)
    expect(refusedInsert.codeName).toBe('Unauthorized')
    await expect(userA.db(dbB).collection('courses').find({}).toArray()).rejects.toMatchObject({ code: 13 })
    expect(mongo.state.databases.has(dbB)).toBe(false)
  })

  it('ensure twice gives the same result, and puts back a password and roles changed by hand', async () => {
    const spec = specFor('gamma')
    const first = await provisioner.ensure(spec)
    await operator.db('admin').command({
      updateUser: spec.names.username,
      pwd: 'changed-by-hand',
      roles: [
        { role: 'readWrite', db: `${prefix}someone_else` },
        { role: 'dbAdmin', db: spec.names.databases?.forum ?? '' },
      ],
    })
    const usersBefore = mongo.state.users.size
    const second = await provisioner.ensure(spec)
    expect(second).toEqual(first)
    expect(mongo.state.users.size).toBe(usersBefore)
    expect(await userInfo(spec.names.username ?? '')).toEqual([
      { user: spec.names.username, db: 'admin', roles: exactRoles(spec), mechanisms: ['SCRAM-SHA-256'] },
    ])
    await canWrite(second)
  })

  it('completes, on a second ensure, whatever a failure at each step left undone', async () => {
    const clean = specFor('clean')
    const reference = await provisioner.ensure(clean)
    expect(provisioner.ensureSteps).toEqual(['create-user', 'set-password-and-roles'])

    for (const failAt of provisioner.ensureSteps) {
      const spec = specFor(`fail_${failAt.replaceAll('-', '_')}`)
      const injected = new Error(`injected failure before ${failAt}`)
      const steps: string[] = []
      await expect(
        provisioner.ensure(spec, {
          onStep: (step) => {
            steps.push(step)
            if (step === failAt) throw injected
          },
        }),
      ).rejects.toBe(injected)
      expect(steps).toEqual(provisioner.ensureSteps.slice(0, provisioner.ensureSteps.indexOf(failAt) + 1))

      const creds = await provisioner.ensure(spec)
      expect(creds).toEqual(expected(spec))
      expect({ ...creds, username: '', password: '', databases: {} }).toEqual({ ...reference, username: '', password: '', databases: {} })
      expect(await userInfo(spec.names.username ?? '')).toEqual([
        { user: spec.names.username, db: 'admin', roles: exactRoles(spec), mechanisms: ['SCRAM-SHA-256'] },
      ])
      await provisioner.verify(spec, creds)
      await canWrite(creds)
    }
  })

  it('reports a transient server error as retryable, and a retry completes', async () => {
    const spec = specFor('flaky')
    await operator.db('admin').command({
      configureFailPoint: 'failCommand',
      mode: { times: 1 },
      data: { failCommands: ['updateUser'], errorCode: 91 },
    })
    const err = await rejection(provisioner.ensure(spec))
    expect(err.provider).toBe('MongoDB')
    expect(err.operation).toBe('set password and roles')
    expect(err.retryable).toBe(true)
    expect(err.message).toContain('ShutdownInProgress')
    expect(err.message).not.toContain(spec.password)
    await provisioner.ensure(spec)
    await canWrite(expected(spec))
  })

  it('rotate: the old password stops working, the new one works', async () => {
    const spec = specFor('rotate')
    const before = await provisioner.ensure(spec)
    const rotatedSpec = { ...spec, password: `pw-${randomUUID()}` }
    const after = await provisioner.rotate(rotatedSpec, before)
    expect(after).toEqual({ ...before, password: rotatedSpec.password })
    expect(await provisioner.rotate(rotatedSpec, before)).toEqual(after)

    const old = await serverError(asUser(before).connect())
    expect(old.code).toBe(18)
    const verifyOld = await rejection(provisioner.verify(spec, before))
    expect(verifyOld.operation).toBe('verify')
    expect(verifyOld.message).toContain('authentication failed')
    expect(verifyOld.message).not.toContain(before.password)
    expect(verifyOld.retryable).toBe(false)

    await provisioner.verify(rotatedSpec, after)
    await canWrite(after)
    expect(await userInfo(spec.names.username ?? '')).toEqual([
      { user: spec.names.username, db: 'admin', roles: exactRoles(spec), mechanisms: ['SCRAM-SHA-256'] },
    ])
  })

  it('destroy removes the user and the databases it wrote; twice is fine; partial names are fine', async () => {
    const spec = specFor('doomed')
    const creds = await provisioner.ensure(spec)
    for (const db of Object.values(creds.databases)) {
      const client = asUser(creds)
      await client.db(db).collection('data').insertOne({ x: 1 })
    }
    const names = (list: { type: string; name: string }[]) => list.filter((o) => o.name.startsWith(spec.names.username ?? '?'))
    expect(names(await provisioner.list())).toEqual([
      ...Object.values(creds.databases)
        .sort()
        .map((name) => ({ type: 'database', name })),
      { type: 'user', name: spec.names.username },
    ])

    const lines: string[] = []
    await provisioner.destroy(spec.names, (line) => lines.push(line))
    expect(names(await provisioner.list())).toEqual([])
    for (const db of Object.values(creds.databases)) expect(mongo.state.databases.has(db)).toBe(false)
    expect(await userInfo(spec.names.username ?? '')).toEqual([])
    expect((await serverError(asUser(creds).connect())).code).toBe(18)

    await provisioner.destroy(spec.names, (line) => lines.push(line))
    expect(lines.some((l) => l.includes('already gone'))).toBe(true)

    // An orphan known only by part of its names.
    const orphan = specFor('orphan')
    const orphanCreds = await provisioner.ensure(orphan)
    await asUser(orphanCreds)
      .db(orphanCreds.databases.forum ?? '')
      .collection('threads')
      .insertOne({ t: 1 })
    await provisioner.destroy({ databases: { forum: orphanCreds.databases.forum ?? '' } })
    await provisioner.destroy({ username: orphan.names.username })
    await provisioner.destroy({})
    expect(names(await provisioner.list()).filter((o) => o.name.startsWith(orphan.names.username ?? '?'))).toEqual([])
  })

  it('list() returns only what carries this installation’s prefix', async () => {
    await operator.db('admin').command({ createUser: 'someone_else', pwd: 'pw-someone', roles: [] })
    await operator.db('otherapp').collection('c').insertOne({ x: 1 })
    const spec = specFor('listed')
    await provisioner.ensure(spec)
    const listed = await provisioner.list()
    expect(listed.every((o) => o.name.startsWith(prefix))).toBe(true)
    expect(listed).toContainEqual({ type: 'user', name: spec.names.username })
    expect(listed.map((o) => o.name)).not.toContain('otherapp')
  })

  it('testConnection passes for a capable administrator and leaves no probe behind', async () => {
    const before = await provisioner.list()
    await provisioner.testConnection()
    expect(await provisioner.list()).toEqual(before)
  })

  it('testConnection says which right an administrator lacks', async () => {
    const weak = `weak-${short()}`
    const weakPassword = `weak-pw-${randomUUID()}`
    await operator.db('admin').command({ createUser: weak, pwd: weakPassword, roles: [{ role: 'readWriteAnyDatabase', db: 'admin' }] })
    const err = await rejection(provisionerFor({ username: weak, password: weakPassword }).testConnection())
    expect(err.provider).toBe('MongoDB')
    expect(err.operation).toBe('test connection')
    expect(err.message).toContain('userAdminAnyDatabase')
    expect(err.message).not.toContain(weakPassword)
    expect(err.retryable).toBe(false)
  })

  it('a wrong administrator password gives a clear, non-retryable error without the password', async () => {
    const wrongPassword = `wrong-${randomUUID()}`
    const bad = provisionerFor({ password: wrongPassword })
    for (const attempt of [() => bad.testConnection(), () => bad.ensure(specFor('nopw')), () => bad.list()]) {
      const err = await rejection(attempt())
      expect(err.provider).toBe('MongoDB')
      expect(err.message).toContain(`authentication failed for the administrator "${ADMIN_USER}"`)
      expect(err.message).not.toContain(wrongPassword)
      expect(err.message).not.toContain(ADMIN_PASSWORD)
      expect(err.retryable).toBe(false)
    }
  })

  it('an unreachable server gives a retryable error', async () => {
    const port = await freePort()
    const away = provisionerFor({ hosts: `127.0.0.1:${port}` }, 500)
    const err = await rejection(away.testConnection())
    expect(err.provider).toBe('MongoDB')
    expect(err.retryable).toBe(true)
    expect(err.message).toContain(`no MongoDB server answered at 127.0.0.1:${port}`)
    expect(err.message).not.toContain(ADMIN_PASSWORD)
  })

  it('refuses bad names before anything reaches the server', async () => {
    const good = specFor('names')
    const user = good.names.username ?? ''
    const cases: [string, ResourceSpec['names']][] = [
      ['only lowercase letters', { username: `${prefix}Upper`, databases: { openedx: `${user}_openedx` } }],
      ['only lowercase letters', { username: user, databases: { openedx: `${prefix}with-dash` } }],
      ['only lowercase letters', { username: user, databases: { openedx: `${prefix}dot.ted` } }],
      ['the limit is 63', { username: user, databases: { openedx: `${prefix}${'x'.repeat(63)}` } }],
      ['prefix', { username: 'admin', databases: { openedx: `${user}_openedx` } }],
      ['prefix', { username: user, databases: { openedx: 'admin' } }],
      ['prefix', { username: prefix, databases: { openedx: `${user}_openedx` } }],
      ['no user name', { databases: { openedx: `${user}_openedx` } }],
      ['names no database', { username: user, databases: {} }],
    ]
    // Monitoring heartbeats of the open clients may arrive meanwhile; they are not the provisioner's doing.
    const sent = () => mongo.state.commands.filter((c) => !['hello', 'isMaster', 'ismaster'].includes(c.command)).length
    const commandsBefore = sent()
    for (const [message, names] of cases) {
      const err = await rejection(provisioner.ensure({ ...good, names }))
      expect(err.operation).toBe('ensure')
      expect(err.message).toContain(message)
      expect(err.retryable).toBe(false)
    }
    await expect(provisioner.destroy({ databases: { openedx: 'admin' } })).rejects.toThrow(/prefix/)
    await expect(provisioner.destroy({ username: 'root' })).rejects.toThrow(/prefix/)
    await expect(provisioner.ensure({ ...good, password: '' })).rejects.toThrow(/password is empty/)
    expect(sent()).toBe(commandsBefore)
  })

  it('works with a replica set: the credentials name it and the user logs in through it', async () => {
    const rs = await startMongodbDouble({ adminUser: ADMIN_USER, adminPassword: ADMIN_PASSWORD, replicaSet: 'rs0' })
    try {
      const p = provisionerFor({ hosts: rs.address, replicaSet: 'rs0' })
      const spec = specFor('replicated')
      const creds = await p.ensure(spec)
      expect(creds).toEqual({ ...expected(spec), port: rs.port, replicaSet: 'rs0' })
      await p.verify(spec, creds)
      await p.destroy(spec.names)
      expect(await p.list()).toEqual([])
      await p.close()
    } finally {
      await rs.stop()
    }
  })
})
