/**
 * The `mongodb` resource provisioner: per instance, one user on a shared MongoDB deployment holding `readWrite` on
 * the instance's databases and nothing else. MongoDB creates a database on its first write, so there is nothing to
 * create for the databases themselves.
 */
import { randomBytes } from 'node:crypto'
import { MongoClient, MongoError, MongoNetworkError, MongoServerError, MongoServerSelectionError, type MongoClientOptions } from 'mongodb'
import { z } from 'zod'
import type { MongodbResource } from '@/lib/blueprints'
import {
  ProvisionerError,
  ownedPrefix,
  type EnsureOptions,
  type LogSink,
  type MongodbClusterConnection,
  type OwnedResourceObject,
  type ResourceNames,
  type ResourceProvisioner,
  type ResourceSpec,
} from './types'

export const PROVIDER = 'MongoDB'
export const MONGODB_ENSURE_STEPS = ['create-user', 'set-password-and-roles'] as const
type Step = (typeof MONGODB_ENSURE_STEPS)[number]
const DEFAULT_TIMEOUT_MS = 15_000
const DEFAULT_PORT = 27017
/** MongoDB's limit for database names is 63 bytes; user names get the same so both fit every deployment. */
export const MONGODB_NAME_MAX = 63
const NAME_PATTERN = /^[a-z0-9_]+$/
const MECHANISMS = ['SCRAM-SHA-256']

const CODE_AUTHENTICATION_FAILED = 18
const CODE_UNAUTHORIZED = 13
const CODE_USER_NOT_FOUND = 11
const CODE_USER_EXISTS = 51003
/** Server answers that say nothing about the request itself: a primary stepping down, a shutdown, a slow network. */
const RETRYABLE_CODES = new Set([6, 7, 89, 91, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436, 50])

const ZUsersInfo = z.looseObject({
  users: z.array(z.looseObject({ user: z.string(), db: z.string(), roles: z.array(z.looseObject({ role: z.string(), db: z.string() })) })),
})
const ZListDatabases = z.looseObject({ databases: z.array(z.looseObject({ name: z.string() })) })

/** Replaces every secret in a server or driver message (none should carry one, but an echoed command or URI would). */
function scrub(text: string, secrets: readonly string[]): string {
  let out = text
  for (const secret of secrets) {
    if (secret.length < 4) continue
    for (const form of new Set([secret, encodeURIComponent(secret)])) out = out.split(form).join('***')
  }
  return out
}

function isRetryable(err: unknown): boolean {
  if (err instanceof MongoNetworkError || err instanceof MongoServerSelectionError) return true
  if (err instanceof MongoServerError)
    return (typeof err.code === 'number' && RETRYABLE_CODES.has(err.code)) || err.hasErrorLabel('RetryableWriteError')
  return false
}

function serverCode(err: unknown): number | undefined {
  return err instanceof MongoServerError && typeof err.code === 'number' ? err.code : undefined
}

/**
 * A ProvisionerError for a failed command or connection. The driver's error is not kept as `cause`: its reply
 * document could echo the command, and createUser/updateUser commands carry a password.
 */
function toProvisionerError(operation: string, err: unknown, secrets: readonly string[], hint?: string): ProvisionerError {
  if (err instanceof ProvisionerError) return err
  const message = err instanceof Error ? err.message : String(err)
  const code =
    err instanceof MongoServerError
      ? `${err.codeName ?? 'error'} (${String(err.code)}): `
      : err instanceof MongoError
        ? `${err.name}: `
        : ''
  const detail = scrub(`${code}${message}`.replace(/\s+/g, ' ').trim().slice(0, 400), secrets)
  return new ProvisionerError(PROVIDER, operation, hint ? `${hint} (${detail})` : detail, isRetryable(err))
}

/** "host:port" seeds as the connection names them; the first one is what the instance's credentials carry. */
export function parseSeeds(hosts: string): { host: string; port: number }[] {
  const seeds = hosts
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((seed) => {
      const match = /^(\[[0-9a-fA-F:.]+\]|[^:\s[\]]+)(?::(\d{1,5}))?$/.exec(seed)
      const port = match?.[2] === undefined ? DEFAULT_PORT : Number(match[2])
      if (!match?.[1] || port < 1 || port > 65535)
        throw new ProvisionerError(PROVIDER, 'connect', `"${seed.slice(0, 100)}" is not host:port (the cluster's hosts setting)`)
      return { host: match[1], port }
    })
  if (seeds.length === 0) throw new ProvisionerError(PROVIDER, 'connect', 'the cluster names no host')
  return seeds
}

/** Checks a user or database name against what every MongoDB accepts and against this installation's prefix. */
export function checkMongodbName(kind: 'user' | 'database', name: string, prefix: string, operation: string): void {
  const problem = !NAME_PATTERN.test(name)
    ? 'only lowercase letters, digits and underscores are allowed'
    : name.length > MONGODB_NAME_MAX
      ? `it is ${name.length} characters long, the limit is ${MONGODB_NAME_MAX}`
      : !name.startsWith(prefix) || name.length === prefix.length
        ? `it must start with this installation's prefix "${prefix}" and have more after it`
        : undefined
  if (problem) throw new ProvisionerError(PROVIDER, operation, `invalid ${kind} name "${name.slice(0, 100)}": ${problem}`)
}

interface CommandOptions {
  /** Passwords the command carries, scrubbed from any message. */
  secrets?: string[]
  /** What to tell the operator about this failure, when there is more to say than the server's message. */
  hint?: (err: unknown) => string | undefined
}

interface MongodbNames {
  username: string
  /** purpose → database name */
  databases: Record<string, string>
}

export function createMongodbProvisioner(
  connection: MongodbClusterConnection,
  options: { ownerTag: string; timeoutMs?: number },
): ResourceProvisioner<'mongodb'> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
  const prefix = ownedPrefix('mongodb', options.ownerTag)
  const authSource = connection.authSource || 'admin'
  const adminSecrets = [connection.password]
  const clientOptions: MongoClientOptions = {
    serverSelectionTimeoutMS: timeoutMs,
    connectTimeoutMS: timeoutMs,
    socketTimeoutMS: timeoutMs,
    // Provisioning runs one command at a time; a second connection covers a concurrent list or check.
    maxPoolSize: 2,
    appName: 'tenon',
  }
  /** The administrator's client, connected on first use; reset after a failed connect so the next call tries again. */
  let admin: Promise<MongoClient> | undefined
  /** Instance users' clients still open (verify), for close(). */
  const userClients = new Set<MongoClient>()

  function uri(hosts: string, user: { username: string; password: string; authSource: string; replicaSet?: string; tls: boolean }) {
    const params = new URLSearchParams({ authSource: user.authSource, tls: String(user.tls) })
    if (user.replicaSet) params.set('replicaSet', user.replicaSet)
    return `mongodb://${encodeURIComponent(user.username)}:${encodeURIComponent(user.password)}@${hosts}/?${params.toString()}`
  }

  /** The driver checks the URI and options when the client is made (no I/O yet); a bad setting is reported like any failure. */
  function newClient(operation: string, url: string, opts: MongoClientOptions, secrets: readonly string[]): MongoClient {
    try {
      return new MongoClient(url, opts)
    } catch (err) {
      throw toProvisionerError(operation, err, secrets, 'the connection settings are not valid')
    }
  }

  function connectHint(err: unknown, who: string, hosts: string, authDb: string): string | undefined {
    const code = serverCode(err)
    if (code === CODE_AUTHENTICATION_FAILED)
      return `authentication failed for ${who} (database "${authDb}"): check its user name, password and authSource`
    if (err instanceof MongoServerSelectionError || err instanceof MongoNetworkError)
      return `no MongoDB server answered at ${hosts} within ${timeoutMs} ms`
    return undefined
  }

  function adminClient(operation: string): Promise<MongoClient> {
    if (!admin) {
      const seeds = parseSeeds(connection.hosts)
      const hosts = seeds.map((s) => `${s.host}:${s.port}`).join(',')
      const client = newClient(
        operation,
        uri(hosts, {
          username: connection.username,
          password: connection.password,
          authSource,
          replicaSet: connection.replicaSet,
          tls: connection.tls,
        }),
        clientOptions,
        adminSecrets,
      )
      const connecting = client.connect().catch(async (err: unknown) => {
        admin = undefined
        await client.close().catch(() => {})
        throw toProvisionerError(
          operation,
          err,
          adminSecrets,
          connectHint(err, `the administrator "${connection.username}"`, hosts, authSource),
        )
      })
      admin = connecting
    }
    return admin
  }

  /** One command as the administrator; failures come back as the driver's own errors. */
  async function rawCommand(operation: string, db: string, doc: Record<string, unknown>): Promise<Record<string, unknown>> {
    const client = await adminClient(operation)
    return await client.db(db).command(doc)
  }

  function adminError(operation: string, db: string, err: unknown, opts: CommandOptions = {}): ProvisionerError {
    const hint =
      opts.hint?.(err) ??
      (serverCode(err) === CODE_UNAUTHORIZED
        ? `the administrator "${connection.username}" is not allowed to run this on "${db}"`
        : undefined)
    return toProvisionerError(operation, err, [...adminSecrets, ...(opts.secrets ?? [])], hint)
  }

  /** One command as the administrator, with failures turned into ProvisionerErrors naming the operation. */
  async function command(
    operation: string,
    db: string,
    doc: Record<string, unknown>,
    opts: CommandOptions = {},
  ): Promise<Record<string, unknown>> {
    try {
      return await rawCommand(operation, db, doc)
    } catch (err) {
      throw adminError(operation, db, err, opts)
    }
  }

  function checkNames(names: ResourceNames, operation: string): MongodbNames {
    const username = names.username
    if (!username) throw new ProvisionerError(PROVIDER, operation, 'the resource has no user name')
    const databases = names.databases ?? {}
    if (Object.keys(databases).length === 0) throw new ProvisionerError(PROVIDER, operation, 'the resource names no database')
    checkUsername(username, operation)
    for (const database of Object.values(databases)) checkMongodbName('database', database, prefix, operation)
    return { username, databases }
  }

  function checkUsername(username: string, operation: string): void {
    checkMongodbName('user', username, prefix, operation)
    // Setting this user's password and roles would lock the provisioner itself out.
    if (username === connection.username) throw new ProvisionerError(PROVIDER, operation, `"${username}" is the cluster's administrator`)
  }

  function checkPassword(password: string, operation: string): void {
    // MongoDB refuses an empty password anyway; saying so here keeps the message clear.
    if (!password) throw new ProvisionerError(PROVIDER, operation, 'the password is empty')
  }

  /** Exactly `readWrite` on each of the instance's databases: what ensure sets, whatever the user had before. */
  function rolesFor(databases: Record<string, string>) {
    return [...new Set(Object.values(databases))].sort().map((db) => ({ role: 'readWrite', db }))
  }

  async function userExists(operation: string, username: string): Promise<boolean> {
    const reply = await command(operation, authSource, { usersInfo: { user: username, db: authSource } })
    return ZUsersInfo.parse(reply).users.some((u) => u.user === username && u.db === authSource)
  }

  function credentials(names: MongodbNames, password: string): MongodbResource {
    const first = parseSeeds(connection.hosts)[0]
    if (!first) throw new ProvisionerError(PROVIDER, 'credentials', 'the cluster names no host')
    const resource: MongodbResource = {
      host: first.host,
      port: first.port,
      username: names.username,
      password,
      databases: { ...names.databases },
      authSource,
      tls: connection.tls,
    }
    if (connection.replicaSet) resource.replicaSet = connection.replicaSet
    return resource
  }

  return {
    kind: 'mongodb',
    ensureSteps: MONGODB_ENSURE_STEPS,

    async ensure(spec: ResourceSpec, opts: EnsureOptions = {}): Promise<MongodbResource> {
      const names = checkNames(spec.names, 'ensure')
      checkPassword(spec.password, 'ensure')
      const log = opts.log ?? (() => {})
      const secrets = [spec.password]
      const roles = rolesFor(names.databases)
      const step = async (name: Step) => {
        await opts.onStep?.(name)
      }

      await step('create-user')
      if (!(await userExists('ensure', names.username))) {
        const doc = { createUser: names.username, pwd: spec.password, roles, mechanisms: MECHANISMS }
        try {
          // Created with its password and roles at once: a user never exists without a password.
          await rawCommand('create user', authSource, doc)
          log(`created MongoDB user ${names.username} (database ${authSource})`)
        } catch (err) {
          // Made meanwhile by a concurrent run: the next step sets it to the spec all the same.
          if (serverCode(err) !== CODE_USER_EXISTS) throw adminError('create user', authSource, err, { secrets })
        }
      }

      await step('set-password-and-roles')
      // Also right after creating it: a retry, or a password or role changed by hand, ends exactly at the spec.
      await command(
        'set password and roles',
        authSource,
        { updateUser: names.username, pwd: spec.password, roles, mechanisms: MECHANISMS },
        {
          secrets,
          hint: (err) =>
            serverCode(err) === CODE_USER_NOT_FOUND ? `user ${names.username} vanished meanwhile; run ensure again` : undefined,
        },
      )
      log(`set MongoDB user ${names.username}'s password and readWrite on ${roles.map((r) => r.db).join(', ')}`)

      return credentials(names, spec.password)
    },

    async verify(_spec: ResourceSpec, current: MongodbResource): Promise<void> {
      const databases = [...new Set(Object.values(current.databases))]
      if (databases.length === 0) throw new ProvisionerError(PROVIDER, 'verify', 'the credentials name no database')
      for (const database of databases) checkMongodbName('database', database, prefix, 'verify')
      const userAuthSource = current.authSource ?? 'admin'
      const hosts = `${current.host.includes(':') && !current.host.startsWith('[') ? `[${current.host}]` : current.host}:${current.port}`
      const secrets = [current.password, ...adminSecrets]
      const client = newClient(
        'verify',
        uri(hosts, {
          username: current.username,
          password: current.password,
          authSource: userAuthSource,
          replicaSet: current.replicaSet,
          tls: current.tls ?? false,
        }),
        { ...clientOptions, maxPoolSize: 1 },
        secrets,
      )
      userClients.add(client)
      try {
        try {
          await client.connect()
        } catch (err) {
          throw toProvisionerError(
            'verify',
            err,
            secrets,
            connectHint(err, `the instance user "${current.username}"`, hosts, userAuthSource),
          )
        }
        for (const database of databases) {
          try {
            await client.db(database).command({ listCollections: 1, nameOnly: true, authorizedCollections: true })
          } catch (err) {
            throw toProvisionerError('verify', err, secrets, `user "${current.username}" cannot use database ${database}`)
          }
        }
      } finally {
        userClients.delete(client)
        await client.close().catch(() => {})
      }
    },

    async rotate(spec: ResourceSpec, current: MongodbResource): Promise<MongodbResource> {
      const username = spec.names.username ?? current.username
      checkUsername(username, 'rotate')
      checkPassword(spec.password, 'rotate')
      await command(
        'rotate',
        current.authSource ?? authSource,
        { updateUser: username, pwd: spec.password, mechanisms: MECHANISMS },
        {
          secrets: [spec.password, current.password],
          hint: (err) => (serverCode(err) === CODE_USER_NOT_FOUND ? `user ${username} does not exist (run ensure)` : undefined),
        },
      )
      return { ...current, username, password: spec.password }
    },

    async destroy(names: ResourceNames, log: LogSink = () => {}): Promise<void> {
      const databases = [...new Set(Object.values(names.databases ?? {}))]
      for (const database of databases) checkMongodbName('database', database, prefix, 'destroy')
      if (names.username) checkUsername(names.username, 'destroy')
      // The user first: an appserver still running cannot write a dropped database back into existence afterwards.
      if (names.username) {
        try {
          await rawCommand('drop user', authSource, { dropUser: names.username })
          log(`dropped MongoDB user ${names.username} (database ${authSource})`)
        } catch (err) {
          if (serverCode(err) !== CODE_USER_NOT_FOUND) throw adminError('drop user', authSource, err)
          log(`MongoDB user ${names.username} is already gone`)
        }
      }
      for (const database of databases) {
        const reply = await command('drop database', database, { dropDatabase: 1 })
        log(typeof reply.dropped === 'string' ? `dropped MongoDB database ${database}` : `MongoDB database ${database} is already gone`)
      }
    },

    async list(): Promise<OwnedResourceObject[]> {
      const dbs = ZListDatabases.parse(await command('list', 'admin', { listDatabases: 1, nameOnly: true }))
      const users = ZUsersInfo.parse(await command('list', authSource, { usersInfo: 1 }))
      const owned = (names: string[]) => [...new Set(names.filter((name) => name.startsWith(prefix)))].sort()
      return [
        ...owned(dbs.databases.map((d) => d.name)).map((name): OwnedResourceObject => ({ type: 'database', name })),
        ...owned(users.users.filter((u) => u.db === authSource).map((u) => u.user)).map((name): OwnedResourceObject => ({
          type: 'user',
          name,
        })),
      ]
    },

    async testConnection(): Promise<void> {
      const op = 'test connection'
      await command(op, 'admin', { ping: 1 })
      const denied = (what: string) => (err: unknown) =>
        serverCode(err) === CODE_UNAUTHORIZED ? `the administrator "${connection.username}" ${what}` : undefined
      await command(
        op,
        authSource,
        { usersInfo: 1 },
        { hint: denied(`cannot read the users of "${authSource}": it needs userAdminAnyDatabase`) },
      )

      // Doing it once for real is the only check that holds whatever the roles look like (custom roles included).
      const probe = `${prefix}probe${randomBytes(3).toString('hex')}`
      if (probe.length > MONGODB_NAME_MAX)
        throw new ProvisionerError(
          PROVIDER,
          op,
          `the owner tag "${options.ownerTag}" is too long for MongoDB names (${MONGODB_NAME_MAX} characters)`,
        )
      const probePassword = randomBytes(24).toString('base64url')
      let failure: ProvisionerError | undefined
      try {
        await command(
          op,
          authSource,
          { createUser: probe, pwd: probePassword, roles: [{ role: 'readWrite', db: probe }], mechanisms: MECHANISMS },
          { secrets: [probePassword], hint: denied(`cannot create users in "${authSource}": it needs userAdminAnyDatabase`) },
        )
      } catch (err) {
        failure = toProvisionerError(op, err, [...adminSecrets, probePassword])
      }
      try {
        if (!failure)
          await command(op, authSource, { dropUser: probe }, { hint: denied('cannot drop users: it needs userAdminAnyDatabase') })
        // mongod checks the right before looking for the database, so dropping one that does not exist proves it.
        await command(
          op,
          probe,
          { dropDatabase: 1 },
          { hint: denied('cannot drop databases: it needs dbAdminAnyDatabase (or a role with dropDatabase)') },
        )
      } catch (err) {
        failure ??= toProvisionerError(op, err, adminSecrets)
      }
      if (failure) throw failure
    },

    async close(): Promise<void> {
      const pending = admin
      admin = undefined
      const clients = [...userClients]
      userClients.clear()
      await Promise.all([
        pending?.then(
          (client) => client.close(),
          () => {},
        ),
        ...clients.map((client) => client.close().catch(() => {})),
      ])
    },
  }
}
