/**
 * The RabbitMQ resource provisioner: one vhost and one user per instance on a shared cluster, made through the
 * management HTTP API. `verify` logs in over AMQP the way the instance's appservers will.
 */
import { connect } from 'amqplib'
import { z } from 'zod'
import { parseAnswer } from './parse-answer'
import {
  ProvisionerError,
  ownedPrefix,
  type EnsureOptions,
  type OwnedResourceObject,
  type RabbitmqClusterConnection,
  type ResourceCredentialsOf,
  type ResourceNames,
  type ResourceProvisioner,
  type ResourceSpec,
} from './types'

type RabbitmqCredentials = ResourceCredentialsOf<'rabbitmq'>

const PROVIDER = 'RabbitMQ'
const DEFAULT_TIMEOUT_MS = 10_000
const ENSURE_STEPS = ['create-vhost', 'create-user', 'set-permissions'] as const
/** Stricter than RabbitMQ itself: these names go into URLs, AMQP URIs and log lines unchanged. */
const NAME_PATTERN = /^[a-z0-9-]{1,255}$/
const FULL_PERMISSIONS = { configure: '.*', write: '.*', read: '.*' }

// Only the fields the provisioner reads; RabbitMQ sends more.
/** RabbitMQ 3.9+ sends tags as a list, older versions as one comma-separated string. */
const ZTags = z.union([z.array(z.string()), z.string()])
const ZNamed = z.looseObject({ name: z.string() })
const ZUser = z.looseObject({ name: z.string(), tags: ZTags })
const ZPermission = z.looseObject({ vhost: z.string() })
const ZConnection = z.looseObject({ name: z.string(), user: z.string().optional() })
const ZErrorBody = z.looseObject({ error: z.string().optional(), reason: z.string().optional() })

type Method = 'GET' | 'PUT' | 'DELETE'

interface Answer {
  status: number
  text: string
}

interface CallOptions {
  body?: unknown
  /** statuses that are not an error; default 200 */
  accept?: readonly number[]
  headers?: Record<string, string>
  /** secrets this call carries, never to appear in an error message */
  secrets?: readonly string[]
}

function tagList(tags: z.infer<typeof ZTags>): string[] {
  const list = typeof tags === 'string' ? tags.split(',') : tags
  return list.map((tag) => tag.trim()).filter((tag) => tag !== '')
}

function redact(text: string, secrets: readonly string[]): string {
  let out = text
  for (const secret of secrets) {
    if (!secret) continue
    out = out.replaceAll(secret, '[redacted]')
    const encoded = encodeURIComponent(secret)
    if (encoded !== secret) out = out.replaceAll(encoded, '[redacted]')
  }
  return out
}

function errorMessage(err: unknown): string {
  if (!(err instanceof Error)) return String(err)
  const cause = err.cause
  return cause instanceof Error && cause.message ? `${err.message} (${cause.message})` : err.message
}

function errorCode(err: unknown): string | undefined {
  for (let current: unknown = err, depth = 0; current instanceof Error && depth < 3; current = current.cause, depth++) {
    if ('code' in current && typeof current.code === 'string') return current.code
  }
  return undefined
}

/** Network failures that may clear up by themselves. */
const RETRYABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'EPIPE'])

export function createRabbitmqProvisioner(
  connection: RabbitmqClusterConnection,
  options: { ownerTag: string; timeoutMs?: number },
): ResourceProvisioner<'rabbitmq'> {
  if (!options.ownerTag)
    throw new ProvisionerError(PROVIDER, 'configure', 'the owner tag is empty, so list() could not tell our objects apart')
  const base = `${connection.managementUrl.replace(/\/+$/, '')}/api`
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
  const prefix = ownedPrefix('rabbitmq', options.ownerTag)
  const authorization = 'Basic ' + Buffer.from(`${connection.username}:${connection.password}`, 'utf8').toString('base64')
  const enc = encodeURIComponent

  function statusError(operation: string, answer: Answer, secrets: readonly string[]): ProvisionerError {
    let detail = answer.text.trim().replace(/\s+/g, ' ')
    try {
      const body = ZErrorBody.safeParse(JSON.parse(answer.text))
      if (body.success) detail = [body.data.error, body.data.reason].filter(Boolean).join(': ') || detail
    } catch {
      // not JSON (a proxy's error page): keep the text
    }
    detail = redact(detail, secrets).slice(0, 300)
    const suffix = detail ? ` (${detail})` : ''
    if (answer.status === 401) return new ProvisionerError(PROVIDER, operation, `the management API refused the credentials${suffix}`)
    if (answer.status === 403)
      return new ProvisionerError(
        PROVIDER,
        operation,
        `the management user is not allowed to do this: it needs the administrator tag${suffix}`,
      )
    const retryable = answer.status === 429 || answer.status >= 500
    return new ProvisionerError(PROVIDER, operation, `HTTP ${answer.status}${suffix}`, retryable)
  }

  /** Every management API call goes through here: timeout, Basic auth, status check, errors that name the operation. */
  async function call(operation: string, method: Method, path: string, opts: CallOptions = {}): Promise<Answer> {
    const secrets = [connection.password, ...(opts.secrets ?? [])]
    const headers: Record<string, string> = { accept: 'application/json', authorization, ...opts.headers }
    if (opts.body !== undefined) headers['content-type'] = 'application/json'
    let answer: Answer
    try {
      const response = await fetch(`${base}${path}`, {
        method,
        headers,
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
        signal: AbortSignal.timeout(timeoutMs),
      })
      answer = { status: response.status, text: await response.text() }
    } catch (err) {
      if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError'))
        throw new ProvisionerError(PROVIDER, operation, `no answer from the management API at ${base} within ${timeoutMs} ms`, true, {
          cause: err,
        })
      throw new ProvisionerError(
        PROVIDER,
        operation,
        `cannot reach the management API at ${base}: ${redact(errorMessage(err), secrets)}`,
        true,
        {
          cause: err,
        },
      )
    }
    if (!(opts.accept ?? [200]).includes(answer.status)) throw statusError(operation, answer, secrets)
    return answer
  }

  function parse<S extends z.ZodType>(operation: string, schema: S, text: string): z.infer<S> {
    return parseAnswer(PROVIDER, operation, schema, text, 'the management API')
  }

  function checkName(operation: string, what: 'vhost' | 'username', value: string | undefined): string {
    if (value === undefined) throw new ProvisionerError(PROVIDER, operation, `no ${what} in the resource's names`)
    if (!NAME_PATTERN.test(value)) {
      const shown = value.length > 80 ? `${value.slice(0, 80)}…` : value
      throw new ProvisionerError(
        PROVIDER,
        operation,
        `${what} "${shown}" (${value.length} characters) is not a valid name: use 1 to 255 characters among a-z, 0-9 and "-"`,
      )
    }
    return value
  }

  function checkPassword(operation: string, password: string): void {
    if (!password) throw new ProvisionerError(PROVIDER, operation, "the spec has no password for the instance's user")
  }

  async function putUser(operation: string, username: string, password: string, tags: string): Promise<void> {
    await call(operation, 'PUT', `/users/${enc(username)}`, { body: { password, tags }, accept: [201, 204], secrets: [password] })
  }

  /** Full rights on the instance's own vhost and nothing anywhere else, whatever was granted by hand since. */
  async function setPermissions(vhost: string, username: string): Promise<void> {
    await call('set permissions', 'PUT', `/permissions/${enc(vhost)}/${enc(username)}`, { body: FULL_PERMISSIONS, accept: [201, 204] })
    const permissions = parse(
      'read permissions',
      z.array(ZPermission),
      (await call('read permissions', 'GET', `/users/${enc(username)}/permissions`)).text,
    )
    for (const { vhost: other } of permissions)
      if (other !== vhost) await call('remove permissions', 'DELETE', `/permissions/${enc(other)}/${enc(username)}`, { accept: [204, 404] })
    const topic = parse(
      'read topic permissions',
      z.array(ZPermission),
      (await call('read topic permissions', 'GET', `/users/${enc(username)}/topic-permissions`)).text,
    )
    for (const other of new Set(topic.map((t) => t.vhost)))
      if (other !== vhost)
        await call('remove topic permissions', 'DELETE', `/topic-permissions/${enc(other)}/${enc(username)}`, { accept: [204, 404] })
  }

  async function closeConnections(username: string): Promise<void> {
    const reason = { 'x-reason': 'Tenon rotated the credentials of this user' }
    // This endpoint reads the broker's connection tracking, which knows a connection as soon as it opens. GET /api/connections
    // is fed by the statistics collector (every 5 s by default) and misses younger connections, which would stay open.
    const byUser = await call('close connections', 'DELETE', `/connections/username/${enc(username)}`, {
      accept: [204, 404],
      headers: reason,
    })
    if (byUser.status !== 404) return
    // Brokers without that endpoint: the statistics list is the best there is.
    const all = parse(
      'list connections',
      z.array(ZConnection),
      (await call('list connections', 'GET', '/connections?columns=name,user')).text,
    )
    for (const open of all)
      if (open.user === username)
        await call('close connections', 'DELETE', `/connections/${enc(open.name)}`, { accept: [204, 404], headers: reason })
  }

  function credentialsFor(vhost: string, username: string, password: string): RabbitmqCredentials {
    return { host: connection.amqpHost, port: connection.amqpPort, vhost, username, password, tls: connection.tls }
  }

  function amqpError(
    operation: string,
    err: unknown,
    target: { vhost: string; username: string },
    secrets: readonly string[],
  ): ProvisionerError {
    if (err instanceof ProvisionerError) return err
    const message = redact(errorMessage(err), secrets).slice(0, 400)
    // The broker answers connection.open with connection.close when the login passed but the vhost is not the user's;
    // amqplib drops the reply code and text from that error, so name the cause here.
    if (/Expected ConnectionOpenOk; got <ConnectionClose/.test(message))
      return new ProvisionerError(
        PROVIDER,
        operation,
        `the broker refused to open vhost ${target.vhost} for user ${target.username} (530 NOT_ALLOWED: no permission on it, or it does not exist)`,
        false,
        { cause: err },
      )
    const code = errorCode(err)
    const retryable = (code !== undefined && RETRYABLE_CODES.has(code)) || /ETIMEDOUT|ECONNRESET|ECONNREFUSED/.test(message)
    let hint = ''
    if (/ACCESS_REFUSED|ACCESS-REFUSED|\b403\b/.test(message)) hint = ' (the broker refused the user name or password)'
    else if (/NOT_ALLOWED|NOT-ALLOWED|\b530\b/.test(message)) hint = ' (the user may not open this vhost, or it does not exist)'
    return new ProvisionerError(PROVIDER, operation, `AMQP login failed: ${message}${hint}`, retryable, { cause: err })
  }

  return {
    kind: 'rabbitmq',
    ensureSteps: ENSURE_STEPS,

    async ensure(spec: ResourceSpec, ensureOptions: EnsureOptions = {}): Promise<RabbitmqCredentials> {
      const vhost = checkName('ensure', 'vhost', spec.names.vhost)
      const username = checkName('ensure', 'username', spec.names.username)
      checkPassword('ensure', spec.password)
      const log = ensureOptions.log ?? (() => {})

      await ensureOptions.onStep?.('create-vhost')
      const created = await call('create vhost', 'PUT', `/vhosts/${enc(vhost)}`, { body: {}, accept: [201, 204] })
      log(`RabbitMQ vhost ${vhost} ${created.status === 201 ? 'created' : 'already there'}`)

      await ensureOptions.onStep?.('create-user')
      // PUT replaces the user: a password or tags changed by hand since are set back to the spec's.
      await putUser('create user', username, spec.password, '')
      log(`RabbitMQ user ${username} set`)

      await ensureOptions.onStep?.('set-permissions')
      await setPermissions(vhost, username)
      log(`RabbitMQ user ${username} has full rights on vhost ${vhost} only`)

      return credentialsFor(vhost, username, spec.password)
    },

    async verify(_spec: ResourceSpec, credentials: RabbitmqCredentials): Promise<void> {
      const operation = 'verify'
      const vhost = checkName(operation, 'vhost', credentials.vhost)
      const username = checkName(operation, 'username', credentials.username)
      checkPassword(operation, credentials.password)
      const host = credentials.host.includes(':') ? `[${credentials.host}]` : credentials.host
      const url = `${credentials.tls ? 'amqps' : 'amqp'}://${enc(username)}:${enc(credentials.password)}@${host}:${credentials.port}/${enc(vhost)}`

      const attempt = (async () => {
        // The socket timeout covers connecting and the handshake while data trickles; the race below bounds the whole.
        const model = await connect(url, { timeout: timeoutMs })
        // After a failure the connection also emits "error"; the rejection below already carries it.
        model.on('error', () => {})
        try {
          const channel = await model.createChannel()
          await channel.close()
        } finally {
          await model.close().catch(() => undefined)
        }
      })()
      // A late failure after the deadline has nobody left to hear it.
      attempt.catch(() => undefined)
      let timer: ReturnType<typeof setTimeout> | undefined
      const deadline = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new ProvisionerError(PROVIDER, operation, `no AMQP answer from ${host}:${credentials.port} within ${timeoutMs} ms`, true),
            ),
          timeoutMs,
        )
      })
      try {
        await Promise.race([attempt, deadline])
      } catch (err) {
        throw amqpError(operation, err, { vhost, username }, [credentials.password, connection.password])
      } finally {
        clearTimeout(timer)
      }
    },

    async rotate(spec: ResourceSpec, current: RabbitmqCredentials): Promise<RabbitmqCredentials> {
      const username = checkName('rotate', 'username', spec.names.username)
      checkPassword('rotate', spec.password)
      const answer = await call('rotate', 'GET', `/users/${enc(username)}`, { accept: [200, 404] })
      if (answer.status === 404)
        throw new ProvisionerError(PROVIDER, 'rotate', `user ${username} does not exist: ensure the resource before rotating its password`)
      const user = parse('rotate', ZUser, answer.text)
      await putUser('rotate', username, spec.password, tagList(user.tags).join(','))
      // RabbitMQ checks a password only when a connection opens: connections made with the old one would keep working
      // until they drop. Closing them makes the old password stop working at once, as rotating promises.
      await closeConnections(username)
      return { ...current, username, password: spec.password }
    },

    async destroy(names: ResourceNames, log?: (line: string) => void): Promise<void> {
      // Every name is checked before the first call, so a bad one never leaves the other half deleted.
      const vhost = names.vhost === undefined ? undefined : checkName('destroy', 'vhost', names.vhost)
      const username = names.username === undefined ? undefined : checkName('destroy', 'username', names.username)
      if (vhost !== undefined) {
        const answer = await call('delete vhost', 'DELETE', `/vhosts/${enc(vhost)}`, { accept: [204, 404] })
        log?.(`RabbitMQ vhost ${vhost} ${answer.status === 404 ? 'was already gone' : 'deleted'}`)
      }
      if (username !== undefined) {
        const answer = await call('delete user', 'DELETE', `/users/${enc(username)}`, { accept: [204, 404] })
        log?.(`RabbitMQ user ${username} ${answer.status === 404 ? 'was already gone' : 'deleted'}`)
      }
    },

    async list(): Promise<OwnedResourceObject[]> {
      const [vhosts, users] = await Promise.all([
        call('list vhosts', 'GET', '/vhosts?columns=name').then((a) => parse('list vhosts', z.array(ZNamed), a.text)),
        call('list users', 'GET', '/users?columns=name').then((a) => parse('list users', z.array(ZNamed), a.text)),
      ])
      return [
        ...vhosts.filter((v) => v.name.startsWith(prefix)).map((v): OwnedResourceObject => ({ type: 'vhost', name: v.name })),
        ...users.filter((u) => u.name.startsWith(prefix)).map((u): OwnedResourceObject => ({ type: 'user', name: u.name })),
      ]
    },

    async testConnection(): Promise<void> {
      const who = parse('whoami', ZUser, (await call('whoami', 'GET', '/whoami')).text)
      const tags = tagList(who.tags)
      if (!tags.includes('administrator'))
        throw new ProvisionerError(
          PROVIDER,
          'test connection',
          `the management user "${who.name}" lacks the administrator tag, which creating vhosts and users needs (its tags: ${tags.join(', ') || 'none'})`,
        )
      await call('overview', 'GET', '/overview')
    },

    close(): Promise<void> {
      return Promise.resolve()
    },
  }
}
