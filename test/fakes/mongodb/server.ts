/**
 * A protocol double of a MongoDB server (see README.md for what is faithful and what is simplified): a TCP server on
 * 127.0.0.1 speaking the MongoDB wire protocol (OP_MSG, and OP_QUERY/OP_REPLY for the first handshake), with
 * SCRAM-SHA-256 authentication, users and roles, and a small in-memory document store. The official driver talks to it
 * as it would to a standalone mongod (or the primary of a one-member replica set).
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto'
import net from 'node:net'
import { BSON, Binary, Double, Long, ObjectId, UUID } from 'mongodb'

export interface MongodbDoubleOptions {
  /** The administrator, created with the `root` role in `adminDb`. */
  adminUser: string
  adminPassword: string
  /** Database the administrator is defined in. Default "admin". */
  adminDb?: string
  /** When set, the double answers as the primary of a one-member replica set of this name. */
  replicaSet?: string
}

export interface MongodbDoubleRole {
  role: string
  db: string
}

export interface MongodbDoubleUser {
  user: string
  /** The database the user is defined in (its authentication database). */
  db: string
  roles: MongodbDoubleRole[]
  mechanisms: string[]
  userId: UUID
  /** SCRAM-SHA-256 credentials as MongoDB keeps them: the password itself is never stored. */
  scram: { salt: Buffer; iterationCount: number; storedKey: Buffer; serverKey: Buffer }
}

export type StoredDocument = Record<string, unknown>

export interface MongodbDoubleCommand {
  db: string
  command: string
  /** "db.user" of the authenticated user, if any. */
  user?: string
  ok: boolean
}

export interface MongodbDoubleState {
  /** By "db.user". */
  users: Map<string, MongodbDoubleUser>
  /** database → collection → documents. A database exists while it has a collection (as in MongoDB). */
  databases: Map<string, Map<string, StoredDocument[]>>
  /** Every command run, in order, for tests that look at what a client sent. */
  commands: MongodbDoubleCommand[]
}

export interface MongodbDouble {
  readonly host: string
  readonly port: number
  /** "127.0.0.1:PORT": what a seed list names. */
  readonly address: string
  readonly state: MongodbDoubleState
  /** Closes every client connection and the listener. */
  stop(): Promise<void>
}

const OP_REPLY = 1
const OP_QUERY = 2004
const OP_MSG = 2013
const MSG_CHECKSUM_PRESENT = 1
const MSG_MORE_TO_COME = 2
/** OP_MSG flag bits 0-15 are "required": a receiver must refuse a message with one it does not know. */
const MSG_KNOWN_REQUIRED_BITS = MSG_CHECKSUM_PRESENT | MSG_MORE_TO_COME
const MAX_BSON_OBJECT_SIZE = 16 * 1024 * 1024
const MAX_MESSAGE_SIZE = 48_000_000
/** MongoDB 7.0. The driver wants at least 9 (4.4); 21 is what the brief and current servers use. */
const MAX_WIRE_VERSION = 21
const SCRAM_ITERATIONS = 15_000
const SCRAM_MECHANISM = 'SCRAM-SHA-256'
/** Databases every mongod lists, whether anyone wrote to them or not. */
const SYSTEM_DATABASES = ['admin', 'config', 'local']

const CODE_NAMES: Record<number, string> = {
  1: 'InternalError',
  2: 'BadValue',
  6: 'HostUnreachable',
  11: 'UserNotFound',
  13: 'Unauthorized',
  14: 'TypeMismatch',
  17: 'ProtocolError',
  18: 'AuthenticationFailed',
  31: 'RoleNotFound',
  59: 'CommandNotFound',
  73: 'InvalidNamespace',
  89: 'NetworkTimeout',
  91: 'ShutdownInProgress',
  189: 'PrimarySteppedDown',
  334: 'MechanismUnavailable',
  352: 'UnsupportedOpQueryCommand',
  10107: 'NotWritablePrimary',
  11000: 'DuplicateKey',
  11600: 'InterruptedAtShutdown',
  40571: 'Location40571',
  51003: 'Location51003',
}

class CommandError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message)
  }
}

// ---------------------------------------------------------------------------------------------
// Authorization: the few actions the double distinguishes, and which built-in roles grant them.

type Action =
  'find' | 'insert' | 'remove' | 'listCollections' | 'dropDatabase' | 'userAdmin' | 'viewUser' | 'listDatabases' | 'configureFailPoint'

interface RoleGrant {
  actions: readonly Action[]
  /** The role only exists in "admin" and applies to every database ("…AnyDatabase", root). */
  anyDatabase: boolean
}

const READ: readonly Action[] = ['find', 'listCollections']
const READ_WRITE: readonly Action[] = [...READ, 'insert', 'remove']
const DB_ADMIN: readonly Action[] = ['listCollections', 'dropDatabase']
const USER_ADMIN: readonly Action[] = ['userAdmin', 'viewUser']
const ALL_ACTIONS: readonly Action[] = [...READ_WRITE, ...DB_ADMIN, ...USER_ADMIN, 'listDatabases', 'configureFailPoint']

const ROLES: Record<string, RoleGrant> = {
  read: { actions: READ, anyDatabase: false },
  readWrite: { actions: READ_WRITE, anyDatabase: false },
  dbAdmin: { actions: DB_ADMIN, anyDatabase: false },
  userAdmin: { actions: USER_ADMIN, anyDatabase: false },
  dbOwner: { actions: [...READ_WRITE, ...DB_ADMIN, ...USER_ADMIN], anyDatabase: false },
  readAnyDatabase: { actions: [...READ, 'listDatabases'], anyDatabase: true },
  readWriteAnyDatabase: { actions: [...READ_WRITE, 'listDatabases'], anyDatabase: true },
  dbAdminAnyDatabase: { actions: [...DB_ADMIN, 'listDatabases'], anyDatabase: true },
  userAdminAnyDatabase: { actions: [...USER_ADMIN, 'listDatabases'], anyDatabase: true },
  clusterMonitor: { actions: ['listDatabases'], anyDatabase: true },
  root: { actions: ALL_ACTIONS, anyDatabase: true },
}

/** Commands anyone may run before authenticating, as on a mongod with access control. */
const OPEN_COMMANDS = new Set([
  'hello',
  'isMaster',
  'ismaster',
  'ping',
  'buildInfo',
  'buildinfo',
  'saslStart',
  'saslContinue',
  'endSessions',
])

/** Stands for "all databases" in an authorization check: no real database has an empty name, so only …AnyDatabase roles match. */
const EVERY_DATABASE = ''

const KNOWN_COMMANDS = new Set([
  ...OPEN_COMMANDS,
  'createUser',
  'updateUser',
  'dropUser',
  'usersInfo',
  'dropDatabase',
  'listDatabases',
  'listCollections',
  'insert',
  'find',
  'count',
  'delete',
  'configureFailPoint',
])

function userMay(user: MongodbDoubleUser, action: Action, db: string): boolean {
  return user.roles.some((r) => {
    const grant = ROLES[r.role]
    if (!grant || !grant.actions.includes(action)) return false
    return grant.anyDatabase ? r.db === 'admin' : r.db === db
  })
}

// ---------------------------------------------------------------------------------------------
// SCRAM-SHA-256 (RFC 5802 / RFC 7677), server side.

function saslPrep(password: string): string {
  // Full SASLprep (RFC 4013) also maps and prohibits code points; NFKC is its core and enough for ASCII passwords.
  return password.normalize('NFKC')
}

function scramCredentials(password: string): MongodbDoubleUser['scram'] {
  const salt = randomBytes(28)
  const salted = pbkdf2Sync(saslPrep(password), salt, SCRAM_ITERATIONS, 32, 'sha256')
  const clientKey = hmac(salted, 'Client Key')
  return {
    salt,
    iterationCount: SCRAM_ITERATIONS,
    storedKey: createHash('sha256').update(clientKey).digest(),
    serverKey: hmac(salted, 'Server Key'),
  }
}

function hmac(key: Buffer, text: string): Buffer {
  return createHmac('sha256', key).update(text, 'utf8').digest()
}

function parseScramAttributes(text: string): Map<string, string> {
  const attributes = new Map<string, string>()
  for (const part of text.split(',')) {
    const eq = part.indexOf('=')
    if (eq > 0) attributes.set(part.slice(0, eq), part.slice(eq + 1))
  }
  return attributes
}

interface Conversation {
  id: number
  userKey: string
  clientFirstBare: string
  serverFirst: string
  nonce: string
  /** "biws" (base64 of "n,,") or "eSws" ("y,,"): what the client must echo as `c=`. */
  channelBinding: string
  skipEmptyExchange: boolean
  /** The proof was checked and the server signature sent; only the empty closing exchange is left. */
  proved: boolean
}

// ---------------------------------------------------------------------------------------------
// Small readers for command documents (BSON values arrive as unknown).

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Binary) && !(value instanceof Date)
}

function requireString(value: unknown, field: string): string {
  if (typeof value !== 'string' || value === '') throw new CommandError(14, `"${field}" must be a non-empty string`)
  return value
}

function optionalNumber(value: unknown, field: string): number | undefined {
  if (value === undefined || value === null) return undefined
  if (typeof value === 'number') return value
  if (value instanceof Long) return value.toNumber()
  if (typeof value === 'boolean') return value ? 1 : 0
  throw new CommandError(14, `"${field}" must be a number`)
}

function truthy(value: unknown): boolean {
  return value === true || (typeof value === 'number' && value !== 0) || (value instanceof Long && !value.isZero())
}

function bytesOf(value: unknown, field: string): Buffer {
  if (value instanceof Binary) return Buffer.from(value.value())
  if (value instanceof Uint8Array) return Buffer.from(value)
  if (typeof value === 'string') return Buffer.from(value, 'utf8')
  throw new CommandError(14, `"${field}" must be binary data`)
}

function sameValue(a: unknown, b: unknown): boolean {
  return Buffer.from(BSON.serialize({ v: a })).equals(BSON.serialize({ v: b }))
}

function matches(doc: StoredDocument, filter: Record<string, unknown>): boolean {
  for (const [field, wanted] of Object.entries(filter)) {
    if (field.startsWith('$') || (isRecord(wanted) && Object.keys(wanted).some((k) => k.startsWith('$'))))
      throw new CommandError(2, `the MongoDB double supports only equality filters (got an operator in "${field}")`)
    if (!sameValue(doc[field], wanted)) return false
  }
  return true
}

const INVALID_DB_CHARS = /[/\\. "$*<>:|?\0]/

function checkDatabaseName(db: string): void {
  if (db === '' || Buffer.byteLength(db) > 63 || INVALID_DB_CHARS.test(db)) throw new CommandError(73, `Invalid database name: '${db}'`)
}

function checkCollectionName(db: string, coll: string): void {
  if (coll === '' || coll.includes('$') || coll.includes('\0') || coll.startsWith('system.'))
    throw new CommandError(73, `Invalid collection name: ${db}.${coll}`)
}

// ---------------------------------------------------------------------------------------------

interface Connection {
  id: number
  socket: net.Socket
  buffer: Buffer
  /** "db.user" once SCRAM completed on this connection. */
  user?: string
  conversation?: Conversation
}

interface FailPoint {
  commands: Set<string>
  /** remaining times; undefined = always on */
  times?: number
  errorCode?: number
  closeConnection: boolean
}

export async function startMongodbDouble(options: MongodbDoubleOptions): Promise<MongodbDouble> {
  const adminDb = options.adminDb ?? 'admin'
  const state: MongodbDoubleState = { users: new Map(), databases: new Map(), commands: [] }
  const sockets = new Set<net.Socket>()
  let nextConnectionId = 1
  let nextRequestId = 1
  let nextConversationId = 1
  let failPoint: FailPoint | undefined
  let address = ''
  const electionId = new ObjectId('7fffffff0000000000000001')

  state.users.set(`${adminDb}.${options.adminUser}`, {
    user: options.adminUser,
    db: adminDb,
    roles: [{ role: 'root', db: 'admin' }],
    mechanisms: [SCRAM_MECHANISM],
    userId: new UUID(),
    scram: scramCredentials(options.adminPassword),
  })

  // ------------------------------------------------------------------------------------------
  // Commands

  function helloReply(command: string, body: Record<string, unknown>, conn: Connection): Record<string, unknown> {
    const reply: Record<string, unknown> = {}
    if (truthy(body.helloOk)) reply.helloOk = true
    // `hello` answers isWritablePrimary; the legacy isMaster answers ismaster (same meaning).
    if (command === 'hello') reply.isWritablePrimary = true
    else reply.ismaster = true
    if (options.replicaSet !== undefined) {
      Object.assign(reply, {
        setName: options.replicaSet,
        setVersion: 1,
        hosts: [address],
        primary: address,
        me: address,
        secondary: false,
        electionId,
      })
    }
    Object.assign(reply, {
      maxBsonObjectSize: MAX_BSON_OBJECT_SIZE,
      maxMessageSizeBytes: MAX_MESSAGE_SIZE,
      maxWriteBatchSize: 100_000,
      localTime: new Date(),
      logicalSessionTimeoutMinutes: 30,
      connectionId: conn.id,
      minWireVersion: 0,
      maxWireVersion: MAX_WIRE_VERSION,
      readOnly: false,
    })
    if (typeof body.saslSupportedMechs === 'string') {
      const user = state.users.get(body.saslSupportedMechs)
      if (user) reply.saslSupportedMechs = [...user.mechanisms]
    }
    if (isRecord(body.speculativeAuthenticate)) {
      // The driver folds saslStart into the handshake; a failure is not an error here, the client then runs saslStart itself.
      const spec = body.speculativeAuthenticate
      try {
        const db = requireString(spec.db, 'db')
        const started = saslStart(spec, db, conn)
        reply.speculativeAuthenticate = { conversationId: started.conversationId, done: false, payload: started.payload }
      } catch {
        conn.conversation = undefined
      }
    }
    return reply
  }

  function authFailed(conn: Connection): CommandError {
    conn.conversation = undefined
    return new CommandError(18, 'Authentication failed.')
  }

  function saslStart(body: Record<string, unknown>, db: string, conn: Connection): { conversationId: number; payload: Binary } {
    const mechanism = body.mechanism
    if (mechanism !== SCRAM_MECHANISM)
      throw new CommandError(
        334,
        `Received authentication for mechanism ${String(mechanism)} which is not enabled (the double implements SCRAM-SHA-256 only)`,
      )
    const clientFirst = bytesOf(body.payload, 'payload').toString('utf8')
    const gs2 = clientFirst.startsWith('n,,') ? 'n,,' : clientFirst.startsWith('y,,') ? 'y,,' : undefined
    if (gs2 === undefined) throw authFailed(conn)
    const clientFirstBare = clientFirst.slice(gs2.length)
    const attributes = parseScramAttributes(clientFirstBare)
    const rawName = attributes.get('n')
    const clientNonce = attributes.get('r')
    if (rawName === undefined || clientNonce === undefined || clientNonce === '') throw authFailed(conn)
    const userName = rawName.replaceAll('=2C', ',').replaceAll('=3D', '=')
    const userKey = `${db}.${userName}`
    const user = state.users.get(userKey)
    if (!user || !user.mechanisms.includes(SCRAM_MECHANISM)) throw authFailed(conn)
    const nonce = clientNonce + randomBytes(24).toString('base64')
    const serverFirst = `r=${nonce},s=${user.scram.salt.toString('base64')},i=${user.scram.iterationCount}`
    const options = isRecord(body.options) ? body.options : {}
    conn.conversation = {
      id: nextConversationId++,
      userKey,
      clientFirstBare,
      serverFirst,
      nonce,
      channelBinding: Buffer.from(gs2).toString('base64'),
      skipEmptyExchange: truthy(options.skipEmptyExchange),
      proved: false,
    }
    return { conversationId: conn.conversation.id, payload: new Binary(Buffer.from(serverFirst, 'utf8')) }
  }

  function saslContinue(body: Record<string, unknown>, conn: Connection): Record<string, unknown> {
    const conversation = conn.conversation
    const conversationId = optionalNumber(body.conversationId, 'conversationId')
    if (!conversation || conversationId !== conversation.id) throw new CommandError(17, 'No SASL session state found')
    if (conversation.proved) {
      conn.conversation = undefined
      return { conversationId: conversation.id, done: true, payload: new Binary(Buffer.alloc(0)) }
    }
    const clientFinal = bytesOf(body.payload, 'payload').toString('utf8')
    const proofAt = clientFinal.lastIndexOf(',p=')
    if (proofAt < 0) throw authFailed(conn)
    const withoutProof = clientFinal.slice(0, proofAt)
    const attributes = parseScramAttributes(withoutProof)
    if (attributes.get('c') !== conversation.channelBinding || attributes.get('r') !== conversation.nonce) throw authFailed(conn)
    const user = state.users.get(conversation.userKey)
    if (!user) throw authFailed(conn)
    const proof = Buffer.from(clientFinal.slice(proofAt + 3), 'base64')
    const authMessage = `${conversation.clientFirstBare},${conversation.serverFirst},${withoutProof}`
    const clientSignature = createHmac('sha256', user.scram.storedKey).update(authMessage, 'utf8').digest()
    if (proof.length !== clientSignature.length) throw authFailed(conn)
    const clientKey = Buffer.alloc(proof.length)
    for (let i = 0; i < proof.length; i++) clientKey[i] = (proof[i] ?? 0) ^ (clientSignature[i] ?? 0)
    if (!timingSafeEqual(createHash('sha256').update(clientKey).digest(), user.scram.storedKey)) throw authFailed(conn)
    const serverSignature = createHmac('sha256', user.scram.serverKey).update(authMessage, 'utf8').digest()
    conn.user = conversation.userKey
    const payload = new Binary(Buffer.from(`v=${serverSignature.toString('base64')}`, 'utf8'))
    if (conversation.skipEmptyExchange) {
      conn.conversation = undefined
      return { conversationId: conversation.id, done: true, payload }
    }
    conversation.proved = true
    return { conversationId: conversation.id, done: false, payload }
  }

  function parseRoles(value: unknown, db: string): MongodbDoubleRole[] {
    if (!Array.isArray(value)) throw new CommandError(2, '"roles" must be an array')
    const roles: MongodbDoubleRole[] = []
    for (const entry of value) {
      const role = typeof entry === 'string' ? { role: entry, db } : isRecord(entry) ? { role: entry.role, db: entry.db } : undefined
      if (!role || typeof role.role !== 'string' || typeof role.db !== 'string')
        throw new CommandError(2, 'each role must be a name or {role, db}')
      const grant = ROLES[role.role]
      if (!grant || (grant.anyDatabase && role.db !== 'admin')) throw new CommandError(31, `Could not find role: ${role.role}@${role.db}`)
      if (!roles.some((r) => r.role === role.role && r.db === role.db)) roles.push({ role: role.role, db: role.db })
    }
    return roles
  }

  function parseMechanisms(value: unknown): string[] | undefined {
    if (value === undefined) return undefined
    if (!Array.isArray(value) || value.length === 0) throw new CommandError(2, '"mechanisms" must be a non-empty array')
    const mechanisms: string[] = []
    for (const m of value) {
      if (m !== SCRAM_MECHANISM)
        throw new CommandError(2, `Unsupported mechanism "${String(m)}" (the double implements SCRAM-SHA-256 only)`)
      if (!mechanisms.includes(m)) mechanisms.push(m)
    }
    return mechanisms
  }

  function requirePassword(value: unknown): string {
    if (typeof value !== 'string') throw new CommandError(2, '"pwd" must be a string')
    if (value === '') throw new CommandError(2, 'Password cannot be empty')
    return value
  }

  function userView(user: MongodbDoubleUser): Record<string, unknown> {
    return {
      _id: `${user.db}.${user.user}`,
      userId: user.userId,
      user: user.user,
      db: user.db,
      roles: user.roles.map((r) => ({ role: r.role, db: r.db })),
      mechanisms: [...user.mechanisms],
    }
  }

  /** Which users a usersInfo argument names, and which databases' users it reads (for authorization). */
  function usersInfoTargets(arg: unknown, db: string): { keys: string[] | 'all' | { db: string }; dbs: string[] | 'any' } {
    if (isRecord(arg) && truthy(arg.forAllDBs)) return { keys: 'all', dbs: 'any' }
    if (typeof arg === 'number' || arg instanceof Long) return { keys: { db }, dbs: [db] }
    const entries = Array.isArray(arg) ? arg : [arg]
    const keys: string[] = []
    for (const entry of entries) {
      if (typeof entry === 'string') keys.push(`${db}.${entry}`)
      else if (isRecord(entry) && typeof entry.user === 'string' && typeof entry.db === 'string') keys.push(`${entry.db}.${entry.user}`)
      else throw new CommandError(2, 'usersInfo takes 1, a user name, {user, db}, an array of those, or {forAllDBs: true}')
    }
    return { keys, dbs: [...new Set(keys.map((k) => k.slice(0, k.indexOf('.'))))] }
  }

  function cursorReply(ns: string, firstBatch: Record<string, unknown>[]): Record<string, unknown> {
    return { cursor: { id: Long.ZERO, ns, firstBatch } }
  }

  function collectionsOf(db: string): Map<string, StoredDocument[]> | undefined {
    return state.databases.get(db)
  }

  /** Refuses a command the connection's user may not run: the same codes and messages as mongod. */
  function authorize(command: string, body: Record<string, unknown>, db: string, conn: Connection): void {
    if (OPEN_COMMANDS.has(command)) return
    const user = conn.user === undefined ? undefined : state.users.get(conn.user)
    if (!user) throw new CommandError(13, `Command ${command} requires authentication`)
    const refuse = () => new CommandError(13, `not authorized on ${db} to execute command { ${command}: ... }`)
    const need = (action: Action, onDb = db) => {
      if (!userMay(user, action, onDb)) throw refuse()
    }
    switch (command) {
      case 'find':
      case 'count':
        return need('find')
      case 'insert':
        return need('insert')
      case 'delete':
        return need('remove')
      case 'listCollections':
        return need('listCollections')
      case 'dropDatabase':
        return need('dropDatabase')
      case 'createUser':
      case 'updateUser':
      case 'dropUser':
        return need('userAdmin')
      case 'usersInfo': {
        const targets = usersInfoTargets(body.usersInfo, db)
        // Anyone may look at their own user.
        if (Array.isArray(targets.keys) && targets.keys.length === 1 && targets.keys[0] === conn.user) return
        if (targets.dbs === 'any') return need('viewUser', EVERY_DATABASE)
        for (const target of targets.dbs) need('viewUser', target)
        return
      }
      case 'listDatabases':
        // Without the privilege mongod lists only the databases the user has rights on (authorizedDatabases).
        return
      case 'configureFailPoint':
        return need('configureFailPoint')
      default:
        throw refuse()
    }
  }

  function run(command: string, body: Record<string, unknown>, db: string, conn: Connection): Record<string, unknown> {
    switch (command) {
      case 'hello':
      case 'isMaster':
      case 'ismaster':
        return helloReply(command, body, conn)
      case 'ping':
      case 'endSessions':
        return {}
      case 'buildInfo':
      case 'buildinfo':
        return {
          version: '7.0.0',
          versionArray: [7, 0, 0, 0],
          gitVersion: 'mongodb-double',
          bits: 64,
          maxBsonObjectSize: MAX_BSON_OBJECT_SIZE,
        }
      case 'saslStart': {
        const started = saslStart(body, db, conn)
        return { conversationId: started.conversationId, done: false, payload: started.payload }
      }
      case 'saslContinue':
        return saslContinue(body, conn)
      case 'createUser': {
        const name = requireString(body.createUser, 'createUser')
        const key = `${db}.${name}`
        if (state.users.has(key)) throw new CommandError(51003, `User "${name}@${db}" already exists`)
        const pwd = requirePassword(body.pwd)
        if (body.roles === undefined) throw new CommandError(2, '"createUser" command requires a "roles" array')
        const roles = parseRoles(body.roles, db)
        const mechanisms = parseMechanisms(body.mechanisms) ?? [SCRAM_MECHANISM]
        state.users.set(key, { user: name, db, roles, mechanisms, userId: new UUID(), scram: scramCredentials(pwd) })
        return {}
      }
      case 'updateUser': {
        const name = requireString(body.updateUser, 'updateUser')
        const user = state.users.get(`${db}.${name}`)
        if (!user) throw new CommandError(11, `Could not find user "${name}" for db "${db}"`)
        if (body.pwd === undefined && body.roles === undefined && body.mechanisms === undefined)
          throw new CommandError(2, 'Must specify at least one field to update in updateUser')
        const roles = body.roles === undefined ? undefined : parseRoles(body.roles, db)
        const mechanisms = parseMechanisms(body.mechanisms)
        if (mechanisms && body.pwd === undefined && mechanisms.some((m) => !user.mechanisms.includes(m)))
          throw new CommandError(2, 'mechanisms field must be a subset of previously set mechanisms')
        if (body.pwd !== undefined) user.scram = scramCredentials(requirePassword(body.pwd))
        if (roles) user.roles = roles
        if (mechanisms) user.mechanisms = mechanisms
        return {}
      }
      case 'dropUser': {
        const name = requireString(body.dropUser, 'dropUser')
        if (!state.users.delete(`${db}.${name}`)) throw new CommandError(11, `User '${name}@${db}' not found`)
        return {}
      }
      case 'usersInfo': {
        const targets = usersInfoTargets(body.usersInfo, db)
        const all = [...state.users.values()]
        const keys = targets.keys
        const users =
          keys === 'all'
            ? all
            : Array.isArray(keys)
              ? all.filter((u) => keys.includes(`${u.db}.${u.user}`))
              : all.filter((u) => u.db === keys.db)
        users.sort((a, b) => (`${a.db}.${a.user}` < `${b.db}.${b.user}` ? -1 : 1))
        return { users: users.map(userView) }
      }
      case 'dropDatabase': {
        const existed = state.databases.delete(db)
        return existed ? { dropped: db } : {}
      }
      case 'listDatabases': {
        if (db !== 'admin') throw new CommandError(13, 'listDatabases may only be run against the admin database.')
        const user = conn.user === undefined ? undefined : state.users.get(conn.user)
        const names = [...new Set([...SYSTEM_DATABASES, ...state.databases.keys()])].sort()
        const privileged = user !== undefined && userMay(user, 'listDatabases', 'admin')
        const visible = privileged ? names : names.filter((name) => user?.roles.some((r) => r.db === name))
        const filter = isRecord(body.filter) ? body.filter : {}
        const nameOnly = truthy(body.nameOnly)
        const databases = visible
          .map((name) => (nameOnly ? { name } : { name, sizeOnDisk: 8192, empty: false }))
          .filter((entry) => matches(entry, filter))
        return nameOnly ? { databases } : { databases, totalSize: databases.length * 8192, totalSizeMb: 0 }
      }
      case 'listCollections': {
        const filter = isRecord(body.filter) ? body.filter : {}
        const nameOnly = truthy(body.nameOnly)
        const batch = [...(collectionsOf(db)?.keys() ?? [])]
          .sort()
          .map((name) => (nameOnly ? { name, type: 'collection' } : { name, type: 'collection', options: {}, info: { readOnly: false } }))
          .filter((entry) => matches(entry, filter))
        return cursorReply(`${db}.$cmd.listCollections`, batch)
      }
      case 'insert': {
        const coll = requireString(body.insert, 'insert')
        checkCollectionName(db, coll)
        if (!Array.isArray(body.documents)) throw new CommandError(2, '"documents" must be an array')
        const documents = body.documents.filter(isRecord)
        let collections = collectionsOf(db)
        if (!collections) {
          checkDatabaseName(db)
          collections = new Map()
          state.databases.set(db, collections)
        }
        const stored = collections.get(coll) ?? []
        collections.set(coll, stored)
        const writeErrors: Record<string, unknown>[] = []
        let n = 0
        for (const [index, doc] of documents.entries()) {
          const withId = '_id' in doc ? doc : { _id: new ObjectId(), ...doc }
          if (stored.some((existing) => sameValue(existing._id, withId._id))) {
            writeErrors.push({ index, code: 11000, errmsg: `E11000 duplicate key error collection: ${db}.${coll} index: _id_ dup key` })
            if (body.ordered !== false) break
            continue
          }
          stored.push(withId)
          n++
        }
        return writeErrors.length > 0 ? { n, writeErrors } : { n }
      }
      case 'find': {
        const coll = requireString(body.find, 'find')
        const filter = isRecord(body.filter) ? body.filter : {}
        const skip = optionalNumber(body.skip, 'skip') ?? 0
        const limit = Math.abs(optionalNumber(body.limit, 'limit') ?? 0)
        const found = (collectionsOf(db)?.get(coll) ?? []).filter((doc) => matches(doc, filter)).slice(skip)
        return cursorReply(`${db}.${coll}`, limit > 0 ? found.slice(0, limit) : found)
      }
      case 'count': {
        const coll = requireString(body.count, 'count')
        const query = isRecord(body.query) ? body.query : {}
        return { n: (collectionsOf(db)?.get(coll) ?? []).filter((doc) => matches(doc, query)).length }
      }
      case 'delete': {
        const coll = requireString(body.delete, 'delete')
        if (!Array.isArray(body.deletes)) throw new CommandError(2, '"deletes" must be an array')
        const stored = collectionsOf(db)?.get(coll)
        let n = 0
        for (const spec of body.deletes) {
          if (!isRecord(spec) || !isRecord(spec.q)) throw new CommandError(2, 'each delete needs a "q" document')
          const q = spec.q
          const one = optionalNumber(spec.limit, 'limit') === 1
          for (let i = 0; stored && i < stored.length;) {
            const doc = stored[i]
            if (doc && matches(doc, q)) {
              stored.splice(i, 1)
              n++
              if (one) break
            } else i++
          }
        }
        return { n }
      }
      case 'configureFailPoint': {
        if (db !== 'admin') throw new CommandError(13, 'configureFailPoint may only be run against the admin database.')
        if (body.configureFailPoint !== 'failCommand') throw new CommandError(2, 'the double implements only the failCommand fail point')
        const mode = body.mode
        if (mode === 'off') {
          failPoint = undefined
          return {}
        }
        const data = isRecord(body.data) ? body.data : {}
        const commands = Array.isArray(data.failCommands) ? data.failCommands.filter((c) => typeof c === 'string') : []
        failPoint = {
          commands: new Set(commands),
          times: isRecord(mode) ? optionalNumber(mode.times, 'mode.times') : undefined,
          errorCode: optionalNumber(data.errorCode, 'data.errorCode'),
          closeConnection: truthy(data.closeConnection),
        }
        return {}
      }
      default:
        throw new CommandError(59, `no such command: '${command}'`)
    }
  }

  /** Runs one command document; undefined means the connection was closed on purpose (fail point). */
  function execute(body: Record<string, unknown>, db: string, conn: Connection): Record<string, unknown> | undefined {
    const command = Object.keys(body)[0] ?? ''
    const record: MongodbDoubleCommand = { db, command, ok: false }
    if (conn.user !== undefined) record.user = conn.user
    state.commands.push(record)
    try {
      // mongod looks the command up before it checks the caller's rights.
      if (!KNOWN_COMMANDS.has(command)) throw new CommandError(59, `no such command: '${command}'`)
      authorize(command, body, db, conn)
      const fp = failPoint
      if (fp && fp.commands.has(command)) {
        if (fp.times !== undefined && --fp.times <= 0) failPoint = undefined
        if (fp.closeConnection) {
          conn.socket.destroy()
          return undefined
        }
        throw new CommandError(fp.errorCode ?? 1, `Failing command ${command} via 'failCommand' failpoint`)
      }
      const reply = run(command, body, db, conn)
      record.ok = true
      return { ...reply, ok: new Double(1) }
    } catch (err) {
      if (err instanceof CommandError) return errorReply(err.code, err.message)
      return errorReply(1, err instanceof Error ? err.message : String(err))
    }
  }

  // ------------------------------------------------------------------------------------------
  // Wire protocol

  function send(conn: Connection, responseTo: number, opCode: number, body: Buffer) {
    const header = Buffer.alloc(16)
    header.writeInt32LE(16 + body.length, 0)
    header.writeInt32LE(nextRequestId++, 4)
    header.writeInt32LE(responseTo, 8)
    header.writeInt32LE(opCode, 12)
    conn.socket.write(Buffer.concat([header, body]))
  }

  function replyMsg(conn: Connection, responseTo: number, doc: Record<string, unknown>) {
    const prefix = Buffer.alloc(5) // flagBits (0) and section kind 0
    send(conn, responseTo, OP_MSG, Buffer.concat([prefix, BSON.serialize(doc)]))
  }

  function replyLegacy(conn: Connection, responseTo: number, doc: Record<string, unknown>) {
    // responseFlags, cursorID (int64), startingFrom, numberReturned = 1
    const prefix = Buffer.alloc(20)
    prefix.writeInt32LE(1, 16)
    send(conn, responseTo, OP_REPLY, Buffer.concat([prefix, BSON.serialize(doc)]))
  }

  function readCString(buf: Buffer, offset: number): { value: string; next: number } {
    const end = buf.indexOf(0, offset)
    if (end < 0) throw new Error('unterminated cstring')
    return { value: buf.toString('utf8', offset, end), next: end + 1 }
  }

  function readDocument(buf: Buffer, offset: number): { doc: Record<string, unknown>; next: number } {
    const size = buf.readInt32LE(offset)
    if (size < 5 || offset + size > buf.length) throw new Error('bad BSON document length')
    const doc: Record<string, unknown> = BSON.deserialize(buf.subarray(offset, offset + size))
    return { doc, next: offset + size }
  }

  function onOpMsg(conn: Connection, requestId: number, message: Buffer) {
    const flagBits = message.readUInt32LE(16)
    if ((flagBits & 0xffff & ~MSG_KNOWN_REQUIRED_BITS) !== 0) throw new Error(`unknown required OP_MSG flag bits ${flagBits}`)
    // The CRC-32C checksum is not verified (TCP already guards the bytes); it is only skipped.
    const end = flagBits & MSG_CHECKSUM_PRESENT ? message.length - 4 : message.length
    let body: Record<string, unknown> | undefined
    const sequences: [string, Record<string, unknown>[]][] = []
    let offset = 20
    while (offset < end) {
      const kind = message.readUInt8(offset)
      offset += 1
      if (kind === 0) {
        if (body) throw new Error('OP_MSG with two body sections')
        const read = readDocument(message, offset)
        body = read.doc
        offset = read.next
      } else if (kind === 1) {
        const size = message.readInt32LE(offset)
        const sectionEnd = offset + size
        if (size < 5 || sectionEnd > end) throw new Error('bad OP_MSG document sequence length')
        const id = readCString(message, offset + 4)
        const docs: Record<string, unknown>[] = []
        let at = id.next
        while (at < sectionEnd) {
          const read = readDocument(message, at)
          docs.push(read.doc)
          at = read.next
        }
        sequences.push([id.value, docs])
        offset = sectionEnd
      } else {
        throw new Error(`unknown OP_MSG section kind ${kind}`)
      }
    }
    if (!body) throw new Error('OP_MSG without a body section')
    for (const [field, docs] of sequences) body[field] = docs
    const db = body.$db
    const reply =
      typeof db === 'string' && db !== '' ? execute(body, db, conn) : errorReply(40571, 'OP_MSG requests require a $db argument')
    if (reply && !(flagBits & MSG_MORE_TO_COME)) replyMsg(conn, requestId, reply)
  }

  function onOpQuery(conn: Connection, requestId: number, message: Buffer) {
    const ns = readCString(message, 20)
    // numberToSkip and numberToReturn (8 bytes) are meaningless for commands.
    const read = readDocument(message, ns.next + 8)
    const query = isRecord(read.doc.$query) ? read.doc.$query : read.doc
    const command = Object.keys(query)[0] ?? ''
    const db = ns.value.endsWith('.$cmd') ? ns.value.slice(0, -'.$cmd'.length) : ''
    // Since MongoDB 6.0 OP_QUERY carries only the connection handshake.
    const reply =
      db !== '' && (command === 'hello' || command === 'isMaster' || command === 'ismaster')
        ? execute(query, db, conn)
        : errorReply(352, `Unsupported OP_QUERY command: ${command}. The client driver may require an upgrade.`)
    if (reply) replyLegacy(conn, requestId, reply)
  }

  function onData(conn: Connection, chunk: Buffer) {
    conn.buffer = conn.buffer.length === 0 ? chunk : Buffer.concat([conn.buffer, chunk])
    while (conn.buffer.length >= 16 && !conn.socket.destroyed) {
      const length = conn.buffer.readInt32LE(0)
      if (length < 16 || length > MAX_MESSAGE_SIZE) {
        conn.socket.destroy()
        return
      }
      if (conn.buffer.length < length) return
      const message = conn.buffer.subarray(0, length)
      conn.buffer = conn.buffer.subarray(length)
      const requestId = message.readInt32LE(4)
      const opCode = message.readInt32LE(12)
      try {
        if (opCode === OP_MSG) onOpMsg(conn, requestId, message)
        else if (opCode === OP_QUERY) onOpQuery(conn, requestId, message)
        else throw new Error(`unsupported opCode ${opCode}`)
      } catch {
        // mongod closes the connection on a malformed or unsupported message.
        conn.socket.destroy()
        return
      }
    }
  }

  const server = net.createServer((socket) => {
    sockets.add(socket)
    const conn: Connection = { id: nextConnectionId++, socket, buffer: Buffer.alloc(0) }
    socket.setNoDelay(true)
    socket.on('data', (chunk: Buffer) => onData(conn, chunk))
    socket.on('error', () => socket.destroy())
    socket.on('close', () => sockets.delete(socket))
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  const bound = server.address()
  if (bound === null || typeof bound === 'string') throw new Error('the MongoDB double is not listening on a TCP port')
  const port = bound.port
  address = `127.0.0.1:${port}`

  return {
    host: '127.0.0.1',
    port,
    address,
    state,
    async stop() {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

function errorReply(code: number, errmsg: string): Record<string, unknown> {
  return { ok: new Double(0), errmsg, code, codeName: CODE_NAMES[code] ?? `Location${code}` }
}
