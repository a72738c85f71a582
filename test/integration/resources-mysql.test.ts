import { createHash, randomUUID } from 'node:crypto'
import { chmod, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { Writable } from 'node:stream'
import { gunzipSync } from 'node:zlib'
import { createConnection, type Connection, type RowDataPacket } from 'mysql2/promise'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { exportMysqlDatabases } from '@/provisioners/mysql-export'
import { createMysqlProvisioner, grantPattern } from '@/provisioners/mysql'
import {
  ownedPrefix,
  type MysqlClusterConnection,
  type ResourceCredentialsOf,
  type ResourceProvisioner,
  type ResourceSpec,
} from '@/provisioners/types'
import { MARIADB, requireMariadb } from '@/test/support/services'
import { rejection } from '@/test/support/rejection'

type Credentials = ResourceCredentialsOf<'mysql'>

const short = () => randomUUID().slice(0, 6)
const ownerTag = `t${randomUUID().slice(0, 8)}`
const prefix = ownedPrefix('mysql', ownerTag)
// '%' and TCP to 127.0.0.1: the users match as `name`@`%` (this server has no anonymous users to shadow them, checked below).
const CLUSTER: MysqlClusterConnection = { ...MARIADB, tls: false, userHost: '%' }
/** A password the MySQL option file parser would misread if the export did not quote and escape it. */
const TRICKY_PASSWORD = `p"a#s's\\w$rd ${randomUUID()}`

let provisioner: ResourceProvisioner<'mysql'>
let admin: Connection
/** Users and databases the tests make by hand, outside the provisioner, dropped in afterAll whatever happens. */
const strayUsers: string[] = []
const strayDatabases: string[] = []

function specFor(slug: string): ResourceSpec {
  const username = `${prefix}${slug}_${short()}`
  return {
    resourceId: randomUUID(),
    instanceSlug: slug,
    names: { username, databases: { openedx: `${username}_openedx`, csmh: `${username}_csmh` } },
    password: `pw-${randomUUID()}`,
  }
}

function databasesOf(spec: ResourceSpec): { openedx: string; csmh: string } {
  const openedx = spec.names.databases?.openedx
  const csmh = spec.names.databases?.csmh
  if (!openedx || !csmh) throw new Error('the spec has no databases')
  return { openedx, csmh }
}

function usernameOf(spec: ResourceSpec): string {
  if (!spec.names.username) throw new Error('the spec has no user name')
  return spec.names.username
}

async function rows(conn: Connection, sql: string, values: unknown[] = []): Promise<RowDataPacket[]> {
  const [result] = await conn.query<RowDataPacket[]>(sql, values)
  return result
}

function connectAs(c: { username: string; password: string }, database?: string): Promise<Connection> {
  return createConnection({
    host: CLUSTER.host,
    port: CLUSTER.port,
    user: c.username,
    password: c.password,
    database,
    connectTimeout: 5000,
  })
}

/** What a login attempt fails with (the test fails if it succeeds). */
async function loginRefusal(c: { username: string; password: string }): Promise<string | undefined> {
  let conn: Connection
  try {
    conn = await connectAs(c)
  } catch (err) {
    return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : String(err)
  }
  await conn.end()
  throw new Error(`${c.username} could log in`)
}

async function serverErrorCode(promise: Promise<unknown>): Promise<string> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') return err.code
  throw new Error(`expected a server error, got ${String(err)}`)
}

/** SHOW GRANTS as the server says it, password hash included (stable for one password). */
async function grantsOf(username: string): Promise<string[]> {
  return (await rows(admin, 'SHOW GRANTS FOR ?@?', [username, '%'])).map((row) => String(Object.values(row)[0])).sort()
}

/** SHOW GRANTS with the spec's own names and the password hash replaced, to compare different specs. */
async function normalizedGrants(spec: ResourceSpec): Promise<string[]> {
  const { openedx, csmh } = databasesOf(spec)
  const username = usernameOf(spec)
  return (await grantsOf(username))
    .map((line) =>
      line
        .replace(/IDENTIFIED BY PASSWORD '[^']*'/, "IDENTIFIED BY PASSWORD '<hash>'")
        .replaceAll(grantPattern(openedx), '<openedx>')
        .replaceAll(grantPattern(csmh), '<csmh>')
        .replaceAll(username, '<user>'),
    )
    .sort()
}

const CLEAN_GRANTS = [
  'GRANT ALL PRIVILEGES ON `<csmh>`.* TO `<user>`@`%`',
  'GRANT ALL PRIVILEGES ON `<openedx>`.* TO `<user>`@`%`',
  "GRANT USAGE ON *.* TO `<user>`@`%` IDENTIFIED BY PASSWORD '<hash>'",
]

async function serverDatabases(): Promise<string[]> {
  return (await rows(admin, 'SELECT SCHEMA_NAME AS name FROM information_schema.SCHEMATA'))
    .map((r) => String(r.name))
    .filter((n) => n.startsWith(prefix))
}

async function serverUsers(): Promise<string[]> {
  return (await rows(admin, 'SELECT User AS name FROM mysql.user')).map((r) => String(r.name)).filter((n) => n.startsWith(prefix))
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no TCP port')
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return address.port
}

/** A buffer to export into. */
function collector() {
  const chunks: Buffer[] = []
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk)
      callback()
    },
  })
  return { stream, buffer: () => Buffer.concat(chunks) }
}

async function exportDirs(): Promise<string[]> {
  return (await readdir(os.tmpdir())).filter((name) => name.startsWith('tenon-mysqldump-'))
}

beforeAll(async () => {
  await requireMariadb()
  admin = await createConnection({ host: MARIADB.host, port: MARIADB.port, user: MARIADB.username, password: MARIADB.password })
  // An anonymous ''@'localhost' sorts before 'name'@'%' for local connections and would shadow every user made here.
  const anonymous = await rows(admin, "SELECT Host AS host FROM mysql.user WHERE User = ''")
  if (anonymous.length > 0)
    throw new Error(
      `MariaDB has anonymous users (${anonymous.map((r) => `''@'${String(r.host)}'`).join(', ')}) that shadow the test users: remove them with DROP USER ''@'<host>'`,
    )
  provisioner = createMysqlProvisioner(CLUSTER, { ownerTag, timeoutMs: 5000 })
})

afterAll(async () => {
  await provisioner?.close()
  if (!admin) return
  for (const name of [...(await serverDatabases()), ...strayDatabases]) await admin.query(`DROP DATABASE IF EXISTS ${admin.escapeId(name)}`)
  const users = await rows(admin, 'SELECT User AS user, Host AS host FROM mysql.user')
  for (const row of users) {
    const user = String(row.user)
    if (user.startsWith(prefix) || strayUsers.includes(user)) await admin.query('DROP USER IF EXISTS ?@?', [user, String(row.host)])
  }
  await admin.end()
})

describe('MySQL resources: ensure', () => {
  let specA: ResourceSpec
  let specB: ResourceSpec
  let credsA: Credentials
  let credsB: Credentials

  beforeAll(async () => {
    specA = specFor('alpha')
    specB = specFor('beta')
    credsA = await provisioner.ensure(specA)
    credsB = await provisioner.ensure(specB)
  })

  it('gives each instance its own databases, readable and writable by its user only', async () => {
    expect(credsA).toEqual({
      host: CLUSTER.host,
      port: CLUSTER.port,
      username: specA.names.username,
      password: specA.password,
      databases: specA.names.databases,
    })
    await provisioner.verify(specA, credsA)
    await provisioner.verify(specB, credsB)

    const a = await connectAs(credsA, databasesOf(specA).openedx)
    const b = await connectAs(credsB, databasesOf(specB).openedx)
    try {
      await a.query('CREATE TABLE notes (id INT PRIMARY KEY, body VARCHAR(100))')
      await a.query('INSERT INTO notes VALUES (?, ?), (?, ?)', [1, 'first note', 2, 'second note'])
      expect(await rows(a, 'SELECT id, body FROM notes ORDER BY id')).toEqual([
        { id: 1, body: 'first note' },
        { id: 2, body: 'second note' },
      ])
      await b.query('CREATE TABLE secrets (id INT PRIMARY KEY)')

      // The server itself refuses A in B's database, whatever A tries.
      const bDb = admin.escapeId(databasesOf(specB).openedx)
      expect(await serverErrorCode(a.query(`SELECT * FROM ${bDb}.secrets`))).toBe('ER_TABLEACCESS_DENIED_ERROR')
      expect(await serverErrorCode(a.query(`USE ${bDb}`))).toBe('ER_DBACCESS_DENIED_ERROR')
      expect(await serverErrorCode(a.query(`CREATE TABLE ${bDb}.intruder (id INT)`))).toBe('ER_TABLEACCESS_DENIED_ERROR')
      expect(await serverErrorCode(a.query('CREATE DATABASE ??', [`${prefix}alpha_extra`]))).toBe('ER_DBACCESS_DENIED_ERROR')

      const visible = (await rows(a, 'SHOW DATABASES')).map((r) => String(r.Database)).sort()
      expect(visible).toEqual(['information_schema', databasesOf(specA).csmh, databasesOf(specA).openedx].sort())
    } finally {
      await a.end()
      await b.end()
    }

    // verify fails for credentials that do not open the databases they name.
    const crossed = await rejection(provisioner.verify(specA, { ...credsA, databases: specB.names.databases ?? {} }))
    expect(crossed.message).toMatch(/cannot use database/)
    expect(crossed.message).not.toContain(credsA.password)
  })

  it('changes nothing when run again, and keeps the data', async () => {
    const grants = await grantsOf(usernameOf(specA))
    const databases = await serverDatabases()
    const steps: string[] = []
    const again = await provisioner.ensure(specA, { onStep: (step) => void steps.push(step) })
    expect(again).toEqual(credsA)
    expect(steps).toEqual([...provisioner.ensureSteps])
    expect(await grantsOf(usernameOf(specA))).toEqual(grants)
    expect(await serverDatabases()).toEqual(databases)
    expect(await normalizedGrants(specA)).toEqual(CLEAN_GRANTS)
    const a = await connectAs(again, databasesOf(specA).openedx)
    expect(await rows(a, 'SELECT COUNT(*) AS n FROM notes')).toEqual([{ n: 2 }])
    await a.end()
  })

  it('takes away privileges granted by hand, leaving exactly its own', async () => {
    const userA = usernameOf(specA)
    const { openedx: bDb } = databasesOf(specB)
    await admin.query('GRANT PROCESS ON *.* TO ?@?', [userA, '%'])
    await admin.query(`GRANT SELECT ON ${admin.escapeId(bDb)}.* TO ?@?`, [userA, '%'])
    await admin.query(`GRANT SELECT, INSERT ON ${admin.escapeId(bDb)}.secrets TO ?@? WITH GRANT OPTION`, [userA, '%'])
    await admin.query(`GRANT UPDATE (id) ON ${admin.escapeId(bDb)}.secrets TO ?@?`, [userA, '%'])
    await admin.query(`GRANT ALL PRIVILEGES ON ${admin.escapeId(databasesOf(specA).openedx)}.* TO ?@? WITH GRANT OPTION`, [userA, '%'])
    expect(await normalizedGrants(specA)).not.toEqual(CLEAN_GRANTS)

    const logged: string[] = []
    await provisioner.ensure(specA, { log: (line) => logged.push(line) })
    expect(await normalizedGrants(specA)).toEqual(CLEAN_GRANTS)
    expect(logged.some((line) => line.includes('revoked'))).toBe(true)
    const a = await connectAs(credsA)
    expect(await serverErrorCode(a.query(`SELECT * FROM ${admin.escapeId(bDb)}.secrets`))).toBe('ER_TABLEACCESS_DENIED_ERROR')
    await a.end()
  })

  it('sets a password changed by hand back to the stored one', async () => {
    await admin.query('ALTER USER ?@? IDENTIFIED BY ?', [usernameOf(specA), '%', `drifted-${randomUUID()}`])
    expect(await loginRefusal(credsA)).toBe('ER_ACCESS_DENIED_ERROR')
    expect(await provisioner.ensure(specA)).toEqual(credsA)
    await provisioner.verify(specA, credsA)
  })

  it.each(['create-databases', 'create-user', 'set-password', 'grant'])('completes a run that failed before step %s', async (failAt) => {
    expect(provisioner.ensureSteps).toContain(failAt)
    const spec = specFor(failAt.replaceAll('-', '').slice(0, 12))
    const boom = new Error(`stopped before ${failAt}`)
    await expect(
      provisioner.ensure(spec, {
        onStep: (step) => {
          if (step === failAt) throw boom
        },
      }),
    ).rejects.toBe(boom)
    // The failure really stopped the run there: what earlier steps made exists, nothing later.
    const made = {
      databases: (await serverDatabases()).includes(databasesOf(spec).openedx),
      user: (await serverUsers()).includes(usernameOf(spec)),
    }
    expect(made).toEqual(
      failAt === 'create-databases' ? { databases: false, user: false } : { databases: true, user: failAt !== 'create-user' },
    )

    const creds = await provisioner.ensure(spec)
    expect(creds).toEqual({
      host: CLUSTER.host,
      port: CLUSTER.port,
      username: spec.names.username,
      password: spec.password,
      databases: spec.names.databases,
    })
    await provisioner.verify(spec, creds)
    expect(await normalizedGrants(spec)).toEqual(CLEAN_GRANTS)
    expect(await normalizedGrants(spec)).toEqual(await normalizedGrants(specA))
    await provisioner.destroy(spec.names)
  })
})

describe('MySQL resources: rotate, destroy, list', () => {
  it('rotates the password: the old one stops working, the new one works', async () => {
    const spec = specFor('rotate')
    const creds = await provisioner.ensure(spec)
    const next = { ...spec, password: `pw-${randomUUID()}` }
    const rotated = await provisioner.rotate(next, creds)
    expect(rotated).toEqual({ ...creds, password: next.password })
    expect(await loginRefusal(creds)).toBe('ER_ACCESS_DENIED_ERROR')
    await provisioner.verify(next, rotated)
    // Idempotent for one password, and ensure with the new password agrees.
    expect(await provisioner.rotate(next, rotated)).toEqual(rotated)
    expect(await provisioner.ensure(next)).toEqual(rotated)

    const missing = await rejection(provisioner.rotate({ ...specFor('ghost'), password: 'pw-ghost-1234' }, creds))
    expect(missing.message).toMatch(/does not exist/)
    expect(missing.message).not.toContain('pw-ghost-1234')
    await provisioner.destroy(spec.names)
  })

  it('destroys everything it names, twice without complaint, and with partial names', async () => {
    const spec = specFor('gone')
    const { openedx, csmh } = databasesOf(spec)
    const username = usernameOf(spec)
    await provisioner.ensure(spec)
    const before = await provisioner.list()
    expect(before).toEqual(
      expect.arrayContaining([
        { type: 'database', name: openedx },
        { type: 'database', name: csmh },
        { type: 'user', name: username },
      ]),
    )
    expect(await serverDatabases()).toEqual(expect.arrayContaining([openedx, csmh]))
    expect(await serverUsers()).toContain(username)

    const logged: string[] = []
    await provisioner.destroy(spec.names, (line) => logged.push(line))
    expect(logged.join('\n')).toContain(`dropped MySQL database ${openedx}`)
    const after = (await provisioner.list()).map((o) => o.name)
    for (const name of [openedx, csmh, username]) expect(after).not.toContain(name)
    expect(await serverDatabases()).not.toContain(openedx)
    expect(await serverUsers()).not.toContain(username)
    await provisioner.destroy(spec.names)

    // Only the databases: the user stays until a destroy names it.
    const partial = specFor('part')
    await provisioner.ensure(partial)
    await provisioner.destroy({ databases: partial.names.databases })
    const left = (await provisioner.list()).map((o) => o.name)
    expect(left).toContain(usernameOf(partial))
    expect(left).not.toContain(databasesOf(partial).openedx)
    await provisioner.destroy({ username: partial.names.username })
    expect((await provisioner.list()).map((o) => o.name)).not.toContain(usernameOf(partial))
    await provisioner.destroy({})
  })

  it('drops the user at every host it exists at', async () => {
    const spec = specFor('hosts')
    const username = usernameOf(spec)
    await provisioner.ensure(spec)
    // As if the user host setting had been narrowed since the user was made.
    await admin.query('CREATE USER ?@? IDENTIFIED BY ?', [username, '10.9.%', `pw-${randomUUID()}`])
    await provisioner.destroy(spec.names)
    expect(await rows(admin, 'SELECT Host FROM mysql.user WHERE User = ?', [username])).toEqual([])
  })

  it('lists only names with its own prefix, `_` taken literally', async () => {
    // The same characters with something else where the prefix has "_": a LIKE without escaping would match it.
    const lookalike = `${ownerTag}x_stray_${short()}`
    strayDatabases.push(lookalike)
    strayUsers.push(lookalike)
    await admin.query(`CREATE DATABASE ${admin.escapeId(lookalike)}`)
    await admin.query('CREATE USER ?@? IDENTIFIED BY ?', [lookalike, '%', `pw-${randomUUID()}`])
    const listed = await provisioner.list()
    expect(listed.map((o) => o.name)).not.toContain(lookalike)
    for (const object of listed) expect(object.name.startsWith(prefix)).toBe(true)
    expect(listed.filter((o) => o.type === 'database').map((o) => o.name)).toEqual((await serverDatabases()).sort())
  })
})

describe('MySQL resources: testConnection', () => {
  it('passes with a working administrator and leaves nothing behind', async () => {
    const before = await provisioner.list()
    await provisioner.testConnection()
    expect(await provisioner.list()).toEqual(before)
  })

  it('says the password is wrong without repeating it', async () => {
    const password = `wrong-${randomUUID()}`
    const wrong = createMysqlProvisioner({ ...CLUSTER, password }, { ownerTag, timeoutMs: 5000 })
    try {
      const err = await rejection(wrong.testConnection())
      expect(err.provider).toBe('MySQL')
      expect(err.message).toMatch(/user name and password/)
      expect(err.message).not.toContain(password)
      expect(err.retryable).toBe(false)
    } finally {
      await wrong.close()
    }
  })

  it('says which privilege an administrator lacks', async () => {
    const limited = `${prefix}limited`
    strayUsers.push(limited)
    await admin.query('CREATE USER ?@? IDENTIFIED BY ?', [limited, '%', TRICKY_PASSWORD])
    // Everything on this installation's databases and reading the grant tables, but no CREATE USER (nor INSERT on mysql.*, which would do instead).
    await admin.query(`GRANT ALL PRIVILEGES ON ${admin.escapeId(`${grantPattern(prefix)}%`)}.* TO ?@? WITH GRANT OPTION`, [limited, '%'])
    await admin.query('GRANT SELECT ON mysql.* TO ?@?', [limited, '%'])
    const before = await serverDatabases()
    const weak = createMysqlProvisioner({ ...CLUSTER, username: limited, password: TRICKY_PASSWORD }, { ownerTag, timeoutMs: 5000 })
    try {
      const err = await rejection(weak.testConnection())
      expect(err.message).toMatch(/cannot create users: it needs the CREATE USER privilege/)
      expect(err.message).not.toContain(TRICKY_PASSWORD)
      expect(err.retryable).toBe(false)
    } finally {
      await weak.close()
    }
    // The probe database it could create is gone again.
    expect(await serverDatabases()).toEqual(before)
  })

  it('calls an unreachable or silent server retryable', async () => {
    const refused = createMysqlProvisioner({ ...CLUSTER, port: await closedPort() }, { ownerTag, timeoutMs: 2000 })
    const err = await rejection(refused.testConnection())
    expect(err.retryable).toBe(true)
    expect(err.message).toMatch(/ECONNREFUSED/)
    await refused.close()

    // Accepts the TCP connection and never says hello.
    const sockets: net.Socket[] = []
    const silent = net.createServer((socket) => void sockets.push(socket))
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    const address = silent.address()
    if (address === null || typeof address === 'string') throw new Error('no TCP port')
    const hanging = createMysqlProvisioner({ ...CLUSTER, port: address.port }, { ownerTag, timeoutMs: 300 })
    try {
      const timeout = await rejection(hanging.testConnection())
      expect(timeout.retryable).toBe(true)
    } finally {
      await hanging.close()
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => silent.close(() => resolve()))
    }
  })
})

describe('MySQL resources: names', () => {
  it('refuses names the server or this installation would not accept, before touching the server', async () => {
    // Nothing listens here: a call that reached the server would fail with a retryable connection error instead.
    const offline = createMysqlProvisioner({ ...CLUSTER, port: await closedPort() }, { ownerTag, timeoutMs: 2000 })
    const good = specFor('names')
    const username = usernameOf(good)
    const cases: [string, ResourceSpec, RegExp?][] = [
      [
        'user too long',
        { ...good, names: { ...good.names, username: `${prefix}${'u'.repeat(33 - prefix.length)}` } },
        /invalid user name .*limit is 32/,
      ],
      [
        'database too long',
        { ...good, names: { ...good.names, databases: { openedx: `${prefix}${'d'.repeat(65 - prefix.length)}` } } },
        /invalid database name .*limit is 64/,
      ],
      ['uppercase', { ...good, names: { ...good.names, username: `${prefix}Alpha` } }, /only lowercase letters, digits and underscores/],
      ['dash', { ...good, names: { ...good.names, databases: { openedx: `${username}-openedx` } } }],
      ['backtick', { ...good, names: { ...good.names, databases: { openedx: `${username}\`; DROP DATABASE mysql; --` } } }],
      ['quote', { ...good, names: { ...good.names, username: `${prefix}a'@'%` } }],
      ['not ours', { ...good, names: { ...good.names, username: 'root' } }, /must start with this installation's prefix/],
      ['prefix only', { ...good, names: { ...good.names, databases: { openedx: prefix } } }],
      ['no databases', { ...good, names: { username, databases: {} } }, /names no database/],
      ['no user', { ...good, names: { databases: good.names.databases } }, /no user name/],
      ['empty password', { ...good, password: '' }, /password is empty/],
    ]
    for (const [label, spec, message] of cases) {
      const err = await rejection(offline.ensure(spec))
      expect({ label, retryable: err.retryable, operation: err.operation }).toEqual({ label, retryable: false, operation: 'ensure' })
      if (message) expect(err.message).toMatch(message)
    }
    // The 32- and 64-character limits themselves are fine (they reach the server, which is not there).
    const atLimit = {
      ...good,
      names: {
        username: `${prefix}${'u'.repeat(32 - prefix.length)}`,
        databases: { openedx: `${prefix}${'d'.repeat(64 - prefix.length)}` },
      },
    }
    expect((await rejection(offline.ensure(atLimit))).retryable).toBe(true)

    // destroy and rotate check names too: a destroy must never reach the server's own databases or users.
    expect((await rejection(offline.destroy({ databases: { x: 'mysql' } }))).operation).toBe('destroy')
    expect((await rejection(offline.destroy({ username: 'root' }))).retryable).toBe(false)
    expect((await rejection(provisioner.destroy({ databases: { x: 'mysql' } }))).retryable).toBe(false)
    expect((await rows(admin, "SHOW DATABASES LIKE 'mysql'")).length).toBe(1)
    const creds: Credentials = { host: CLUSTER.host, port: CLUSTER.port, username: 'root', password: 'x', databases: {} }
    expect((await rejection(offline.rotate({ ...good, names: { username: 'root' } }, creds))).operation).toBe('rotate')
    await offline.close()
  })
})

describe('MySQL final export', () => {
  let spec: ResourceSpec

  beforeAll(async () => {
    spec = specFor('export')
    const creds = await provisioner.ensure(spec)
    const conn = await connectAs(creds, databasesOf(spec).openedx)
    await conn.query('CREATE TABLE courses (id INT PRIMARY KEY, title VARCHAR(100)) CHARACTER SET utf8mb4')
    await conn.query('INSERT INTO courses VALUES (?, ?), (?, ?)', [1, 'Welcome to Redwood', 2, 'Ünïcode & "quotes"'])
    await conn.query(`CREATE TABLE ${conn.escapeId(databasesOf(spec).csmh)}.history (id INT PRIMARY KEY)`)
    await conn.end()
  })

  it('writes gzipped SQL with the schema and the rows, and says its size and sha256', async () => {
    const dirsBefore = await exportDirs()
    const out = collector()
    const { openedx, csmh } = databasesOf(spec)
    const result = await exportMysqlDatabases(CLUSTER, [openedx, csmh], out.stream)
    const gz = out.buffer()
    expect(result).toEqual({ bytes: gz.length, sha256: createHash('sha256').update(gz).digest('hex') })
    const sql = gunzipSync(gz).toString('utf8')
    expect(sql).toContain(`CREATE DATABASE /*!32312 IF NOT EXISTS*/ \`${openedx}\``)
    expect(sql).toContain(`CREATE DATABASE /*!32312 IF NOT EXISTS*/ \`${csmh}\``)
    expect(sql).toContain('CREATE TABLE `courses`')
    expect(sql).toContain('CREATE TABLE `history`')
    expect(sql).toMatch(/INSERT INTO `courses` VALUES\s*\(1,'Welcome to Redwood'\),\s*\(2,'Ünïcode & \\"quotes\\"'\)/)
    // The temporary option file with the credentials is gone.
    expect(await exportDirs()).toEqual(dirsBefore)
  })

  it('passes an awkward password through the option file intact', async () => {
    const dumper = `${prefix}dumper`
    strayUsers.push(dumper)
    await admin.query('CREATE USER ?@? IDENTIFIED BY ?', [dumper, '%', TRICKY_PASSWORD])
    await admin.query(
      `GRANT SELECT, SHOW VIEW, TRIGGER, EVENT, LOCK TABLES ON ${admin.escapeId(grantPattern(databasesOf(spec).openedx))}.* TO ?@?`,
      [dumper, '%'],
    )
    const out = collector()
    const result = await exportMysqlDatabases(
      { ...CLUSTER, username: dumper, password: TRICKY_PASSWORD },
      [databasesOf(spec).openedx],
      out.stream,
    )
    expect(result.bytes).toBe(out.buffer().length)
    expect(gunzipSync(out.buffer()).toString('utf8')).toContain('Welcome to Redwood')
  })

  it('fails with the tail of mysqldump’s complaint, without secrets', async () => {
    const missing = await rejection(exportMysqlDatabases(CLUSTER, [`${prefix}nosuchdb`], collector().stream))
    expect(missing.operation).toBe('export')
    expect(missing.message).toMatch(/exited with code \d+: .*Unknown database/s)

    const password = `wrong-${randomUUID()}`
    const refused = await rejection(exportMysqlDatabases({ ...CLUSTER, password }, [databasesOf(spec).openedx], collector().stream))
    expect(refused.message).toMatch(/Access denied/)
    expect(refused.message).not.toContain(password)

    const bad = await rejection(exportMysqlDatabases(CLUSTER, ['--all-databases'], collector().stream))
    expect(bad.message).toMatch(/invalid database name/)

    const noBinary = await rejection(
      exportMysqlDatabases(CLUSTER, [databasesOf(spec).openedx], collector().stream, { mysqldumpPath: '/nonexistent/mysqldump' }),
    )
    expect(noBinary.message).toMatch(/cannot run \/nonexistent\/mysqldump/)
  })

  it('stops a dump that outlasts its timeout', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'tenon-test-'))
    try {
      const slow = path.join(dir, 'slow-mysqldump')
      await writeFile(slow, '#!/bin/sh\nexec sleep 30\n')
      await chmod(slow, 0o755)
      const err = await rejection(
        exportMysqlDatabases(CLUSTER, [databasesOf(spec).openedx], collector().stream, { mysqldumpPath: slow, timeoutMs: 300 }),
      )
      expect(err.retryable).toBe(true)
      expect(err.message).toMatch(/did not finish within 300 ms/)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
