/**
 * The `mysql` resource provisioner: per instance, databases and one user on a shared MySQL/MariaDB server,
 * the user holding ALL PRIVILEGES on its own databases and nothing else.
 */
import { randomBytes } from 'node:crypto'
import { createConnection, createPool, escapeId, type Pool, type ResultSetHeader, type RowDataPacket } from 'mysql2/promise'
import type { MysqlResource } from '@/lib/blueprints'
import {
  ProvisionerError,
  ownedPrefix,
  type EnsureOptions,
  type LogSink,
  type MysqlClusterConnection,
  type OwnedResourceObject,
  type ResourceNames,
  type ResourceProvisioner,
  type ResourceSpec,
} from './types'

export const PROVIDER = 'MySQL'
const STEPS = ['create-databases', 'create-user', 'set-password', 'grant'] as const
const DEFAULT_TIMEOUT_MS = 15_000
/** Dropping a big database can outlast an ordinary statement's timeout; giving up early would only leave it half dropped. */
const DROP_DATABASE_TIMEOUT_MS = 10 * 60_000
const CHARSET = 'utf8mb4'
const COLLATION = 'utf8mb4_unicode_ci'
/** MySQL 5.7+/8 allow 32 characters in a user name (MariaDB 80): the smaller limit keeps names portable. */
export const MYSQL_USER_MAX = 32
export const MYSQL_DATABASE_MAX = 64
const NAME_PATTERN = /^[a-z0-9_]+$/

/** Errors that say nothing about the request itself: the server was away, busy or slow. */
const RETRYABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'EPIPE',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_CON_COUNT_ERROR',
  'ER_TOO_MANY_USER_CONNECTIONS',
  'ER_LOCK_DEADLOCK',
  'ER_LOCK_WAIT_TIMEOUT',
  'ER_SERVER_SHUTDOWN',
  'ER_QUERY_INTERRUPTED',
  'ER_CONNECTION_KILLED',
])
const ACCESS_DENIED_CODES = new Set([
  'ER_ACCESS_DENIED_ERROR',
  'ER_DBACCESS_DENIED_ERROR',
  'ER_SPECIFIC_ACCESS_DENIED_ERROR',
  'ER_TABLEACCESS_DENIED_ERROR',
  'ER_COLUMNACCESS_DENIED_ERROR',
  'ER_ACCESS_DENIED_NO_PASSWORD_ERROR',
  'ER_PASSWORD_NO_MATCH',
])
/** A REVOKE of a grant that vanished meanwhile: the goal (no such grant) is reached. */
const NO_SUCH_GRANT_CODES = new Set(['ER_NONEXISTING_GRANT', 'ER_NONEXISTING_TABLE_GRANT', 'ER_NONEXISTING_PROC_GRANT'])
/** ALTER USER of a user that does not exist. */
const NO_SUCH_USER = new Set(['ER_CANNOT_USER'])

interface DriverError {
  code?: string
  message: string
}

function driverError(err: unknown): DriverError {
  const message = err instanceof Error ? err.message : String(err)
  if (typeof err !== 'object' || err === null) return { message }
  const code = 'code' in err && typeof err.code === 'string' ? err.code : undefined
  // mysql2 puts the server's own text in sqlMessage; `message` can be empty for some connection errors.
  const sqlMessage = 'sqlMessage' in err && typeof err.sqlMessage === 'string' ? err.sqlMessage : undefined
  return { code, message: sqlMessage || message || code || 'unknown error' }
}

/** Replaces every secret in a server or driver message (they never should contain one, but an echoed statement would). */
function scrub(text: string, secrets: readonly string[]): string {
  let out = text
  for (const secret of secrets) if (secret.length >= 4) out = out.split(secret).join('***')
  return out
}

/**
 * A ProvisionerError for a failed statement or connection. The driver's error is not kept as `cause`: mysql2
 * attaches the statement to it, and ALTER/CREATE USER statements carry a password.
 */
function toProvisionerError(operation: string, err: unknown, secrets: readonly string[], hint?: string): ProvisionerError {
  if (err instanceof ProvisionerError) return err
  const { code, message } = driverError(err)
  const retryable = code !== undefined && RETRYABLE_CODES.has(code)
  const detail = scrub(message.replace(/\s+/g, ' ').trim().slice(0, 400), secrets)
  return new ProvisionerError(
    PROVIDER,
    operation,
    `${hint ? `${hint} (` : ''}${code ? `${code}: ` : ''}${detail}${hint ? ')' : ''}`,
    retryable,
  )
}

function isCode(err: unknown, codes: ReadonlySet<string>): boolean {
  const { code } = driverError(err)
  return code !== undefined && codes.has(code)
}

/** Quotes one identifier (never splits on dots: a name from the server is one identifier, whatever it contains). */
function id(name: string): string {
  return escapeId(name, true)
}

/**
 * A database name as a GRANT pattern: `_` and `%` are wildcards in database-level grants, so an unescaped
 * `a_b` would also open `aXb` (another instance's database, in the worst case).
 */
export function grantPattern(database: string): string {
  return database.replace(/[\\_%]/g, '\\$&')
}

function text(row: RowDataPacket, column: string): string {
  const value: unknown = row[column]
  if (typeof value === 'string') return value
  if (Buffer.isBuffer(value)) return value.toString('utf8')
  return String(value ?? '')
}

export interface MysqlNames {
  username: string
  /** purpose → database name */
  databases: Record<string, string>
}

/** Checks a user or database name against what every MySQL/MariaDB accepts and against this installation's prefix. */
export function checkMysqlName(kind: 'user' | 'database', name: string, prefix: string, operation: string): void {
  const max = kind === 'user' ? MYSQL_USER_MAX : MYSQL_DATABASE_MAX
  const problem = !NAME_PATTERN.test(name)
    ? 'only lowercase letters, digits and underscores are allowed'
    : name.length > max
      ? `it is ${name.length} characters long, the limit is ${max}`
      : !name.startsWith(prefix) || name.length === prefix.length
        ? `it must start with this installation's prefix "${prefix}" and have more after it`
        : undefined
  if (problem) throw new ProvisionerError(PROVIDER, operation, `invalid ${kind} name "${name.slice(0, 100)}": ${problem}`)
}

export function createMysqlProvisioner(
  connection: MysqlClusterConnection,
  options: { ownerTag: string; timeoutMs?: number },
): ResourceProvisioner<'mysql'> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
  const prefix = ownedPrefix('mysql', options.ownerTag)
  const host = connection.userHost
  const ssl = connection.tls ? { rejectUnauthorized: true } : undefined
  const adminSecrets = [connection.password]
  let pool: Pool | undefined

  function getPool(): Pool {
    pool ??= createPool({
      host: connection.host,
      port: connection.port,
      user: connection.username,
      password: connection.password,
      ssl,
      connectTimeout: timeoutMs,
      // Provisioning runs one statement at a time; a second connection covers a concurrent list or check.
      connectionLimit: 2,
      maxIdle: 1,
      idleTimeout: 60_000,
      enableKeepAlive: true,
    })
    return pool
  }

  /** One statement with its timeout; failures come back as the driver's own errors. */
  async function query<T extends RowDataPacket[] | ResultSetHeader>(sql: string, values: unknown[], timeout = timeoutMs): Promise<T> {
    const [result] = await getPool().query<T>({ sql, values, timeout })
    return result
  }

  async function run<T extends RowDataPacket[] | ResultSetHeader>(
    operation: string,
    sql: string,
    values: unknown[] = [],
    opts: { secrets?: string[]; timeout?: number; hint?: (err: unknown) => string | undefined } = {},
  ): Promise<T> {
    try {
      return await query<T>(sql, values, opts.timeout)
    } catch (err) {
      throw toProvisionerError(operation, err, [...adminSecrets, ...(opts.secrets ?? [])], opts.hint?.(err) ?? adminHint(err))
    }
  }

  function adminHint(err: unknown): string | undefined {
    const { code } = driverError(err)
    if (code === 'ER_ACCESS_DENIED_ERROR' || code === 'ER_ACCESS_DENIED_NO_PASSWORD_ERROR')
      return `the server refused the administrator "${connection.username}": check its user name and password`
    if (code === 'ECONNREFUSED') return `nothing answers on ${connection.host}:${connection.port}`
    if (code === 'ETIMEDOUT' || code === 'PROTOCOL_SEQUENCE_TIMEOUT')
      return `no answer from ${connection.host}:${connection.port} within ${timeoutMs} ms`
    if (code === 'ENOTFOUND') return `cannot resolve the host name ${connection.host}`
    return undefined
  }

  function checkNames(names: ResourceNames, operation: string): MysqlNames {
    const username = names.username
    if (!username) throw new ProvisionerError(PROVIDER, operation, 'the resource has no user name')
    const databases = names.databases ?? {}
    if (Object.keys(databases).length === 0) throw new ProvisionerError(PROVIDER, operation, 'the resource names no database')
    checkMysqlName('user', username, prefix, operation)
    for (const database of Object.values(databases)) checkMysqlName('database', database, prefix, operation)
    return { username, databases }
  }

  function checkPassword(password: string, operation: string): void {
    // An empty password would leave the user open to anyone who can reach the server.
    if (!password) throw new ProvisionerError(PROVIDER, operation, 'the password is empty')
  }

  async function createDatabases(databases: string[], log: LogSink): Promise<void> {
    const rows = await run<RowDataPacket[]>(
      'create databases',
      'SELECT SCHEMA_NAME AS name, DEFAULT_CHARACTER_SET_NAME AS charset, DEFAULT_COLLATION_NAME AS collation FROM information_schema.SCHEMATA WHERE SCHEMA_NAME IN (?)',
      [databases],
    )
    const existing = new Map(rows.map((row) => [text(row, 'name'), { charset: text(row, 'charset'), collation: text(row, 'collation') }]))
    for (const database of databases) {
      const found = existing.get(database)
      if (!found) {
        await run('create databases', `CREATE DATABASE IF NOT EXISTS ${id(database)} CHARACTER SET ${CHARSET} COLLATE ${COLLATION}`)
        log(`created MySQL database ${database}`)
      } else if (found.charset !== CHARSET || found.collation !== COLLATION) {
        // Only the default for new tables changes; existing tables keep theirs.
        await run('create databases', `ALTER DATABASE ${id(database)} CHARACTER SET ${CHARSET} COLLATE ${COLLATION}`)
        log(`set MySQL database ${database}'s default character set to ${CHARSET} (${COLLATION})`)
      }
    }
  }

  /**
   * Takes away every privilege the user holds besides ALL PRIVILEGES on its own databases (grants made by hand,
   * GRANT OPTION), level by level, so a live instance never loses access to its own databases meanwhile.
   * Reads information_schema, which shows other users' grants to an administrator that can read the mysql schema.
   */
  async function revokeExtras(username: string, ownPatterns: Set<string>, log: LogSink): Promise<void> {
    const grantee = `'${username}'@'${host}'`
    const revoke = async (what: string, sql: string) => {
      try {
        await query(sql, [username, host])
        log(`revoked ${what} from MySQL user ${username}`)
      } catch (err) {
        if (!isCode(err, NO_SUCH_GRANT_CODES)) throw toProvisionerError('grant', err, adminSecrets, adminHint(err))
      }
    }

    const global = await run<RowDataPacket[]>(
      'grant',
      'SELECT PRIVILEGE_TYPE AS privilege, IS_GRANTABLE AS grantable FROM information_schema.USER_PRIVILEGES WHERE GRANTEE = ?',
      [grantee],
    )
    if (global.some((row) => text(row, 'privilege') !== 'USAGE'))
      await revoke('its global privileges', 'REVOKE ALL PRIVILEGES ON *.* FROM ?@?')
    if (global.some((row) => text(row, 'grantable') === 'YES')) await revoke('GRANT OPTION on *.*', 'REVOKE GRANT OPTION ON *.* FROM ?@?')

    const schemas = await run<RowDataPacket[]>(
      'grant',
      'SELECT TABLE_SCHEMA AS pattern, MAX(IS_GRANTABLE) AS grantable FROM information_schema.SCHEMA_PRIVILEGES WHERE GRANTEE = ? GROUP BY TABLE_SCHEMA',
      [grantee],
    )
    for (const row of schemas) {
      const pattern = text(row, 'pattern')
      if (!ownPatterns.has(pattern)) await revoke(`its privileges on ${pattern}.*`, `REVOKE ALL PRIVILEGES ON ${id(pattern)}.* FROM ?@?`)
      if (text(row, 'grantable') === 'YES') await revoke(`GRANT OPTION on ${pattern}.*`, `REVOKE GRANT OPTION ON ${id(pattern)}.* FROM ?@?`)
    }

    // Table-level grants are redundant on its own databases and wrong elsewhere; REVOKE ALL on a table also takes its column grants.
    const tables = await run<RowDataPacket[]>(
      'grant',
      `SELECT TABLE_SCHEMA AS db, TABLE_NAME AS tbl, MAX(IS_GRANTABLE) AS grantable FROM (
         SELECT TABLE_SCHEMA, TABLE_NAME, IS_GRANTABLE FROM information_schema.TABLE_PRIVILEGES WHERE GRANTEE = ?
         UNION ALL SELECT TABLE_SCHEMA, TABLE_NAME, IS_GRANTABLE FROM information_schema.COLUMN_PRIVILEGES WHERE GRANTEE = ?
       ) AS t GROUP BY TABLE_SCHEMA, TABLE_NAME`,
      [grantee, grantee],
    )
    for (const row of tables) {
      const table = `${id(text(row, 'db'))}.${id(text(row, 'tbl'))}`
      await revoke(`its privileges on ${table}`, `REVOKE ALL PRIVILEGES ON ${table} FROM ?@?`)
      if (text(row, 'grantable') === 'YES') await revoke(`GRANT OPTION on ${table}`, `REVOKE GRANT OPTION ON ${table} FROM ?@?`)
    }
  }

  function credentials(names: MysqlNames, password: string): MysqlResource {
    return { host: connection.host, port: connection.port, username: names.username, password, databases: { ...names.databases } }
  }

  /** Logs in as an instance user; the caller ends the connection. */
  async function userConnection(operation: string, user: { host: string; port: number; username: string; password: string }) {
    try {
      return await createConnection({
        host: user.host,
        port: user.port,
        user: user.username,
        password: user.password,
        ssl,
        connectTimeout: timeoutMs,
      })
    } catch (err) {
      const denied = isCode(err, ACCESS_DENIED_CODES)
      throw toProvisionerError(
        operation,
        err,
        [user.password],
        denied ? `the server refused user "${user.username}" with its password` : undefined,
      )
    }
  }

  async function usersNamed(username: string, operation: string): Promise<string[]> {
    const rows = await run<RowDataPacket[]>(operation, 'SELECT Host AS host FROM mysql.user WHERE User = ?', [username])
    return [...new Set([host, ...rows.map((row) => text(row, 'host'))])]
  }

  return {
    kind: 'mysql',
    ensureSteps: STEPS,

    async ensure(spec: ResourceSpec, opts: EnsureOptions = {}): Promise<MysqlResource> {
      const names = checkNames(spec.names, 'ensure')
      checkPassword(spec.password, 'ensure')
      const log = opts.log ?? (() => {})
      const secrets = [spec.password]
      const databases = [...new Set(Object.values(names.databases))]
      const step = async (name: (typeof STEPS)[number]) => {
        await opts.onStep?.(name)
      }

      await step('create-databases')
      await createDatabases(databases, log)

      await step('create-user')
      // Created with its password at once: a user without one, even briefly, would let anyone in.
      const created = await run<ResultSetHeader>(
        'create user',
        'CREATE USER IF NOT EXISTS ?@? IDENTIFIED BY ?',
        [names.username, host, spec.password],
        {
          secrets,
        },
      )
      if (created.warningStatus === 0) log(`created MySQL user ${names.username}@${host}`)

      await step('set-password')
      // Also when the user existed: a retry, or a password changed by hand, ends at the stored one.
      await run('set password', 'ALTER USER ?@? IDENTIFIED BY ?', [names.username, host, spec.password], {
        secrets,
        hint: (err) => (isCode(err, NO_SUCH_USER) ? `user ${names.username}@${host} vanished meanwhile; run ensure again` : undefined),
      })

      await step('grant')
      const patterns = new Set(databases.map(grantPattern))
      for (const pattern of patterns) await run('grant', `GRANT ALL PRIVILEGES ON ${id(pattern)}.* TO ?@?`, [names.username, host])
      await revokeExtras(names.username, patterns, log)

      return credentials(names, spec.password)
    },

    async verify(_spec: ResourceSpec, current: MysqlResource): Promise<void> {
      const databases = [...new Set(Object.values(current.databases))]
      if (databases.length === 0) throw new ProvisionerError(PROVIDER, 'verify', 'the credentials name no database')
      for (const database of databases) checkMysqlName('database', database, prefix, 'verify')
      const conn = await userConnection('verify', current)
      try {
        for (const database of databases) {
          try {
            await conn.query({ sql: `USE ${id(database)}`, timeout: timeoutMs })
            // A temporary table proves the user may create tables here without leaving anything behind.
            await conn.query({ sql: 'CREATE TEMPORARY TABLE tenon_verify (id INT PRIMARY KEY)', timeout: timeoutMs })
            await conn.query({ sql: 'DROP TEMPORARY TABLE tenon_verify', timeout: timeoutMs })
          } catch (err) {
            throw toProvisionerError('verify', err, [current.password], `user "${current.username}" cannot use database ${database}`)
          }
        }
      } finally {
        await conn.end().catch(() => conn.destroy())
      }
    },

    async rotate(spec: ResourceSpec, current: MysqlResource): Promise<MysqlResource> {
      const username = spec.names.username ?? current.username
      checkMysqlName('user', username, prefix, 'rotate')
      checkPassword(spec.password, 'rotate')
      await run('rotate', 'ALTER USER ?@? IDENTIFIED BY ?', [username, host, spec.password], {
        secrets: [spec.password, current.password],
        hint: (err) => (isCode(err, NO_SUCH_USER) ? `user ${username}@${host} does not exist (run ensure)` : undefined),
      })
      return { host: connection.host, port: connection.port, username, password: spec.password, databases: { ...current.databases } }
    },

    async destroy(names: ResourceNames, log: LogSink = () => {}): Promise<void> {
      const databases = [...new Set(Object.values(names.databases ?? {}))]
      for (const database of databases) checkMysqlName('database', database, prefix, 'destroy')
      if (names.username) checkMysqlName('user', names.username, prefix, 'destroy')
      // Databases first: in MySQL 8 a user still named as DEFINER of a view, routine or trigger cannot be dropped.
      for (const database of databases) {
        const result = await run<ResultSetHeader>('drop database', `DROP DATABASE IF EXISTS ${id(database)}`, [], {
          timeout: DROP_DATABASE_TIMEOUT_MS,
        })
        log(result.warningStatus === 0 ? `dropped MySQL database ${database}` : `MySQL database ${database} is already gone`)
      }
      if (names.username) {
        // Every host the name exists at: the user host setting may have changed since the user was made.
        for (const userHost of await usersNamed(names.username, 'drop user')) {
          const result = await run<ResultSetHeader>('drop user', 'DROP USER IF EXISTS ?@?', [names.username, userHost])
          if (result.warningStatus === 0) log(`dropped MySQL user ${names.username}@${userHost}`)
          else if (userHost === host) log(`MySQL user ${names.username}@${userHost} is already gone`)
        }
      }
    },

    async list(): Promise<OwnedResourceObject[]> {
      // `_` is a LIKE wildcard: escaped here, and the prefix is checked again below.
      const like = `${prefix.replace(/[\\_%]/g, '\\$&')}%`
      const schemas = await run<RowDataPacket[]>(
        'list',
        'SELECT SCHEMA_NAME AS name FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE ?',
        [like],
      )
      const users = await run<RowDataPacket[]>('list', 'SELECT DISTINCT User AS name FROM mysql.user WHERE User LIKE ?', [like])
      const owned = (rows: RowDataPacket[]) =>
        [...new Set(rows.map((row) => text(row, 'name')).filter((name) => name.startsWith(prefix)))].sort()
      return [
        ...owned(schemas).map((name): OwnedResourceObject => ({ type: 'database', name })),
        ...owned(users).map((name): OwnedResourceObject => ({ type: 'user', name })),
      ]
    },

    async testConnection(): Promise<void> {
      const op = 'test connection'
      await run(op, 'SELECT CURRENT_USER() AS me')
      for (const table of ['mysql.user', 'mysql.db']) {
        await run(op, `SELECT 1 FROM ${table} LIMIT 0`, [], {
          hint: (err) =>
            isCode(err, ACCESS_DENIED_CODES)
              ? `the administrator "${connection.username}" cannot read ${table}, which listing and cleaning up users needs (GRANT SELECT ON mysql.* TO it)`
              : undefined,
        })
      }

      // Doing it once for real is the only check that holds whatever the grants look like (roles, wildcard grants).
      const probe = `${prefix}probe${randomBytes(3).toString('hex')}`
      if (probe.length > MYSQL_USER_MAX)
        throw new ProvisionerError(
          PROVIDER,
          op,
          `the owner tag "${options.ownerTag}" is too long for MySQL user names (${MYSQL_USER_MAX} characters)`,
        )
      const probePassword = randomBytes(24).toString('base64url')
      const denied = (what: string) => (err: unknown) =>
        isCode(err, ACCESS_DENIED_CODES) ? `the administrator "${connection.username}" ${what}` : undefined
      let failure: ProvisionerError | undefined
      let madeDatabase = false
      let madeUser = false
      try {
        await run(op, `CREATE DATABASE ${id(probe)}`, [], { hint: denied('cannot create databases: it needs the CREATE privilege') })
        madeDatabase = true
        await run(op, 'CREATE USER ?@? IDENTIFIED BY ?', [probe, host, probePassword], {
          secrets: [probePassword],
          hint: denied('cannot create users: it needs the CREATE USER privilege'),
        })
        madeUser = true
        await run(op, `GRANT ALL PRIVILEGES ON ${id(grantPattern(probe))}.* TO ?@?`, [probe, host], {
          hint: denied('cannot grant privileges on the databases it creates: it needs ALL PRIVILEGES WITH GRANT OPTION'),
        })
      } catch (err) {
        failure = toProvisionerError(op, err, [...adminSecrets, probePassword])
      }
      // Each clean-up on its own, so one refused drop does not leave the other object behind.
      const cleanups: [boolean, () => Promise<unknown>][] = [
        [
          madeUser,
          () =>
            run(op, 'DROP USER IF EXISTS ?@?', [probe, host], { hint: denied('cannot drop users: it needs the CREATE USER privilege') }),
        ],
        [
          madeDatabase,
          () => run(op, `DROP DATABASE IF EXISTS ${id(probe)}`, [], { hint: denied('cannot drop databases: it needs the DROP privilege') }),
        ],
      ]
      for (const [made, cleanup] of cleanups) {
        if (!made) continue
        try {
          await cleanup()
        } catch (err) {
          failure ??= toProvisionerError(op, err, adminSecrets)
        }
      }
      if (failure) throw failure
    },

    async close(): Promise<void> {
      const current = pool
      pool = undefined
      await current?.end()
    },
  }
}
