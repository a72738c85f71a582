/**
 * A protocol double of the parts of the AWS IAM Query API the S3 provisioner uses (see README.md for what is faithful
 * and what is simplified): users, inline user policies and access keys, answered as XML that @aws-sdk/client-iam
 * parses, with requests checked against a real SigV4 signature.
 */
import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto'
import http from 'node:http'

export interface IamDoubleOptions {
  /** The only credentials the double accepts (the administrator's, i.e. the S3 cluster's). */
  accessKeyId: string
  secretAccessKey: string
  /** Called when a key is made or deleted, e.g. to let s3rver accept it, as AWS S3 accepts keys IAM made. */
  onKeyCreated?: (key: IamDoubleKey) => void
  onKeyDeleted?: (key: IamDoubleKey) => void
}

export interface IamDoubleUser {
  userName: string
  userId: string
  path: string
  arn: string
  createDate: Date
}

export interface IamDoubleKey {
  userName: string
  accessKeyId: string
  secretAccessKey: string
  status: 'Active' | 'Inactive'
  createDate: Date
}

export interface IamDoubleState {
  /** by user name */
  users: Map<string, IamDoubleUser>
  /** user name → policy name → the policy document as sent (decoded JSON text) */
  policies: Map<string, Map<string, string>>
  /** by access key id */
  keys: Map<string, IamDoubleKey>
}

export interface IamDouble {
  /** e.g. http://127.0.0.1:41234 (the IAM endpoint) */
  readonly url: string
  /** Live state: tests read it, and may change it to set up a situation. */
  readonly state: IamDoubleState
  /** Every Action served (signed correctly or not), in order. */
  readonly calls: string[]
  /** The next `times` (default 1) requests for `action` fail with this error instead of being served. */
  failNext(action: string, error: { status: number; code: string; message?: string }, times?: number): void
  /** Forgets the failures `failNext` set up and that have not happened yet. */
  clearFailures(): void
  stop(): Promise<void>
}

const XMLNS = 'https://iam.amazonaws.com/doc/2010-05-08/'
const VERSION = '2010-05-08'
const ACCOUNT_ID = '123456789012'
/** IAM's quota AccessKeysPerUser. */
const KEYS_PER_USER = 2
const MAX_BODY_BYTES = 1024 * 1024
/** The user GetUser without UserName describes: whoever holds the administrator's key. */
const CALLER = { userName: 'tenon-administrator', path: '/' }

class IamError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

const validation = (message: string) => new IamError(400, 'ValidationError', message)
const noSuchUser = (name: string) => new IamError(404, 'NoSuchEntity', `The user with name ${name} cannot be found.`)

function xmlEscape(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;')
}

/** IAM writes timestamps without fractions, e.g. 2024-05-01T10:20:30Z. */
const isoDate = (date: Date) => date.toISOString().replace(/\.\d{3}Z$/, 'Z')

function randomId(prefix: string, length: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
  const bytes = randomBytes(length)
  let out = prefix
  for (const byte of bytes) out += alphabet[byte % alphabet.length]
  return out
}

function userXml(user: IamDoubleUser): string {
  return (
    `<Path>${xmlEscape(user.path)}</Path><UserName>${xmlEscape(user.userName)}</UserName><UserId>${user.userId}</UserId>` +
    `<Arn>${xmlEscape(user.arn)}</Arn><CreateDate>${isoDate(user.createDate)}</CreateDate>`
  )
}

function keyMetadataXml(key: IamDoubleKey): string {
  return (
    `<UserName>${xmlEscape(key.userName)}</UserName><AccessKeyId>${key.accessKeyId}</AccessKeyId>` +
    `<Status>${key.status}</Status><CreateDate>${isoDate(key.createDate)}</CreateDate>`
  )
}

function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex')
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data).digest()
}

/** RFC 3986 encoding, as SigV4 wants it in the canonical query string. */
function uriEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
}

interface ParsedAuthorization {
  accessKeyId: string
  date: string
  region: string
  service: string
  signedHeaders: string[]
  signature: string
}

function parseAuthorization(header: string): ParsedAuthorization | undefined {
  const match =
    /^AWS4-HMAC-SHA256\s+Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request,\s*SignedHeaders=([^,]+),\s*Signature=([0-9a-f]{64})$/.exec(
      header.trim(),
    )
  if (!match) return undefined
  const [, accessKeyId = '', date = '', region = '', service = '', signedHeaders = '', signature = ''] = match
  return { accessKeyId, date, region, service, signedHeaders: signedHeaders.split(';'), signature }
}

/**
 * Checks the request's SigV4 signature as AWS does: the key id first (InvalidClientTokenId), then the signature over
 * the canonical request (SignatureDoesNotMatch). Header-signed requests only; the SDK signs no other way.
 */
function checkSignature(req: http.IncomingMessage, body: Buffer, options: IamDoubleOptions): void {
  const header = req.headers.authorization
  if (!header) throw new IamError(403, 'MissingAuthenticationToken', 'Request is missing Authentication Token')
  const auth = parseAuthorization(header)
  if (!auth) throw new IamError(400, 'IncompleteSignature', 'Authorization header requires a well-formed AWS4-HMAC-SHA256 signature.')
  if (auth.accessKeyId !== options.accessKeyId)
    throw new IamError(403, 'InvalidClientTokenId', 'The security token included in the request is invalid.')
  const amzDate = req.headers['x-amz-date']
  if (typeof amzDate !== 'string' || !amzDate.startsWith(auth.date))
    throw new IamError(400, 'IncompleteSignature', 'The request must contain an X-Amz-Date header matching the credential scope.')
  const url = new URL(req.url ?? '/', 'http://double')
  const query = [...url.searchParams.entries()]
    .map(([k, v]) => [uriEncode(k), uriEncode(v)] as const)
    .sort(([a, av], [b, bv]) => (a === b ? (av < bv ? -1 : 1) : a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join('&')
  const headers = auth.signedHeaders.map((name) => {
    const raw = req.headers[name]
    const value = Array.isArray(raw) ? raw.join(',') : (raw ?? '')
    return `${name}:${value.trim().replace(/\s+/g, ' ')}\n`
  })
  const canonicalRequest = [
    req.method ?? 'POST',
    url.pathname,
    query,
    headers.join(''),
    auth.signedHeaders.join(';'),
    typeof req.headers['x-amz-content-sha256'] === 'string' ? req.headers['x-amz-content-sha256'] : sha256Hex(body),
  ].join('\n')
  const scope = `${auth.date}/${auth.region}/${auth.service}/aws4_request`
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonicalRequest)].join('\n')
  let key = hmac(`AWS4${options.secretAccessKey}`, auth.date)
  for (const part of [auth.region, auth.service, 'aws4_request']) key = hmac(key, part)
  const expected = Buffer.from(hmac(key, stringToSign).toString('hex'))
  const given = Buffer.from(auth.signature)
  if (expected.length !== given.length || !timingSafeEqual(expected, given))
    throw new IamError(
      403,
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.',
    )
}

async function readBody(req: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk))
    size += buffer.length
    if (size > MAX_BODY_BYTES) throw new IamError(413, 'RequestEntityTooLarge', 'Request body too large')
    chunks.push(buffer)
  }
  return Buffer.concat(chunks)
}

export async function startIamDouble(options: IamDoubleOptions): Promise<IamDouble> {
  const state: IamDoubleState = { users: new Map(), policies: new Map(), keys: new Map() }
  const calls: string[] = []
  const failures = new Map<string, { status: number; code: string; message?: string; times: number }>()
  let stopped = false

  // IAM names are unique regardless of case and found regardless of case.
  const findUser = (name: string) => [...state.users.values()].find((u) => u.userName.toLowerCase() === name.toLowerCase())
  const keysOf = (user: IamDoubleUser) => [...state.keys.values()].filter((k) => k.userName === user.userName)

  function required(params: URLSearchParams, name: string, pattern: RegExp, max: number): string {
    const value = params.get(name)
    if (value === null || value === '')
      throw validation(
        `1 validation error detected: Value null at '${name[0]?.toLowerCase()}${name.slice(1)}' failed to satisfy constraint: Member must not be null`,
      )
    if (value.length > max || !pattern.test(value))
      throw validation(
        `1 validation error detected: Value '${value}' at '${name[0]?.toLowerCase()}${name.slice(1)}' failed to satisfy constraint: Member must satisfy regular expression pattern: ${pattern.source} and have length less than or equal to ${max}`,
      )
    return value
  }
  const userNameParam = (params: URLSearchParams) => required(params, 'UserName', /^[\w+=,.@-]+$/, 64)
  const existingUser = (params: URLSearchParams) => {
    const name = userNameParam(params)
    const user = findUser(name)
    if (!user) throw noSuchUser(name)
    return user
  }

  function page<T>(params: URLSearchParams, items: T[], key: (item: T) => string): { items: T[]; marker?: string } {
    const maxItems = Number(params.get('MaxItems') ?? '100')
    if (!Number.isInteger(maxItems) || maxItems < 1 || maxItems > 1000) throw validation('MaxItems must be between 1 and 1000.')
    const marker = params.get('Marker')
    const start = marker === null ? 0 : items.findIndex((item) => key(item) === marker)
    if (start < 0) throw validation('Invalid Marker.')
    const slice = items.slice(start, start + maxItems)
    const next = items[start + maxItems]
    return next === undefined ? { items: slice } : { items: slice, marker: key(next) }
  }
  const truncation = (marker?: string) =>
    marker === undefined ? '<IsTruncated>false</IsTruncated>' : `<IsTruncated>true</IsTruncated><Marker>${xmlEscape(marker)}</Marker>`

  /** Serves one action; returns the inner XML of its Result element, or undefined for actions without one. */
  function serve(action: string, params: URLSearchParams): string | undefined {
    switch (action) {
      case 'CreateUser': {
        const userName = userNameParam(params)
        const path = params.get('Path') ?? '/'
        if (path.length > 512 || !/^(\/|\/[\u0021-\u007e]+\/)$/.test(path))
          throw validation(
            `The specified value for path is invalid. It must begin and end with / and contain only alphanumeric characters and/or / characters.`,
          )
        if (findUser(userName)) throw new IamError(409, 'EntityAlreadyExists', `User with name ${userName} already exists.`)
        const user: IamDoubleUser = {
          userName,
          path,
          userId: randomId('AIDA', 17),
          arn: `arn:aws:iam::${ACCOUNT_ID}:user${path}${userName}`,
          createDate: new Date(),
        }
        state.users.set(userName, user)
        return `<User>${userXml(user)}</User>`
      }
      case 'GetUser': {
        if (!params.get('UserName')) {
          const caller = {
            ...CALLER,
            userId: 'AIDACALLER0000000000',
            arn: `arn:aws:iam::${ACCOUNT_ID}:user/${CALLER.userName}`,
            createDate: new Date(0),
          }
          return `<User>${userXml(caller)}</User>`
        }
        return `<User>${userXml(existingUser(params))}</User>`
      }
      case 'ListUsers': {
        const prefix = params.get('PathPrefix') ?? '/'
        const users = [...state.users.values()].filter((u) => u.path.startsWith(prefix)).sort((a, b) => (a.userName < b.userName ? -1 : 1))
        const { items, marker } = page(params, users, (u) => u.userName)
        return `<Users>${items.map((u) => `<member>${userXml(u)}</member>`).join('')}</Users>${truncation(marker)}`
      }
      case 'DeleteUser': {
        const user = existingUser(params)
        if (keysOf(user).length > 0 || (state.policies.get(user.userName)?.size ?? 0) > 0)
          throw new IamError(409, 'DeleteConflict', 'Cannot delete entity, must delete access keys and policies first.')
        state.users.delete(user.userName)
        state.policies.delete(user.userName)
        return undefined
      }
      case 'PutUserPolicy': {
        const user = existingUser(params)
        const policyName = required(params, 'PolicyName', /^[\w+=,.@-]+$/, 128)
        const document = required(params, 'PolicyDocument', /^[\s\S]+$/, 131072)
        try {
          const parsed: unknown = JSON.parse(document)
          if (typeof parsed !== 'object' || parsed === null || !('Statement' in parsed)) throw new Error('no Statement')
        } catch {
          throw new IamError(400, 'MalformedPolicyDocument', 'Syntax errors in policy.')
        }
        const policies = state.policies.get(user.userName) ?? new Map<string, string>()
        policies.set(policyName, document)
        state.policies.set(user.userName, policies)
        return undefined
      }
      case 'GetUserPolicy': {
        const user = existingUser(params)
        const policyName = required(params, 'PolicyName', /^[\w+=,.@-]+$/, 128)
        const document = state.policies.get(user.userName)?.get(policyName)
        if (document === undefined) throw new IamError(404, 'NoSuchEntity', `The user policy with name ${policyName} cannot be found.`)
        // AWS sends the document URL-encoded (RFC 3986) inside the XML; callers decode it themselves.
        return (
          `<UserName>${xmlEscape(user.userName)}</UserName><PolicyName>${xmlEscape(policyName)}</PolicyName>` +
          `<PolicyDocument>${xmlEscape(uriEncode(document))}</PolicyDocument>`
        )
      }
      case 'ListUserPolicies': {
        const user = existingUser(params)
        const names = [...(state.policies.get(user.userName)?.keys() ?? [])].sort()
        const { items, marker } = page(params, names, (n) => n)
        return `<PolicyNames>${items.map((n) => `<member>${xmlEscape(n)}</member>`).join('')}</PolicyNames>${truncation(marker)}`
      }
      case 'DeleteUserPolicy': {
        const user = existingUser(params)
        const policyName = required(params, 'PolicyName', /^[\w+=,.@-]+$/, 128)
        const policies = state.policies.get(user.userName)
        if (!policies?.delete(policyName))
          throw new IamError(404, 'NoSuchEntity', `The user policy with name ${policyName} cannot be found.`)
        return undefined
      }
      case 'CreateAccessKey': {
        const user = existingUser(params)
        if (keysOf(user).length >= KEYS_PER_USER)
          throw new IamError(409, 'LimitExceeded', `Cannot exceed quota for AccessKeysPerUser: ${KEYS_PER_USER}`)
        const key: IamDoubleKey = {
          userName: user.userName,
          accessKeyId: randomId('AKIA', 16),
          secretAccessKey: randomBytes(30).toString('base64'),
          status: 'Active',
          createDate: new Date(),
        }
        state.keys.set(key.accessKeyId, key)
        options.onKeyCreated?.(key)
        return `<AccessKey>${keyMetadataXml(key)}<SecretAccessKey>${xmlEscape(key.secretAccessKey)}</SecretAccessKey></AccessKey>`
      }
      case 'ListAccessKeys': {
        const user = existingUser(params)
        const keys = keysOf(user).sort((a, b) => a.createDate.getTime() - b.createDate.getTime())
        const { items, marker } = page(params, keys, (k) => k.accessKeyId)
        return (
          `<UserName>${xmlEscape(user.userName)}</UserName>` +
          `<AccessKeyMetadata>${items.map((k) => `<member>${keyMetadataXml(k)}</member>`).join('')}</AccessKeyMetadata>${truncation(marker)}`
        )
      }
      case 'DeleteAccessKey': {
        const user = existingUser(params)
        const accessKeyId = required(params, 'AccessKeyId', /^[\w]+$/, 128)
        const key = state.keys.get(accessKeyId)
        if (!key || key.userName !== user.userName)
          throw new IamError(404, 'NoSuchEntity', `The Access Key with id ${accessKeyId} cannot be found.`)
        state.keys.delete(accessKeyId)
        options.onKeyDeleted?.(key)
        return undefined
      }
      default:
        throw new IamError(400, 'InvalidAction', `Could not find operation ${action} for version ${VERSION}`)
    }
  }

  async function handle(req: http.IncomingMessage): Promise<{ status: number; xml: string }> {
    const requestId = randomUUID()
    let action = '(none)'
    try {
      const body = await readBody(req)
      if (req.method !== 'POST') throw new IamError(405, 'MethodNotAllowed', 'The double serves the Query API over POST only.')
      const params = new URLSearchParams(body.toString('utf8'))
      action = params.get('Action') ?? '(none)'
      calls.push(action)
      checkSignature(req, body, options)
      if (params.get('Version') !== VERSION)
        throw new IamError(400, 'InvalidAction', `Could not find operation ${action} for version ${params.get('Version') ?? '(none)'}`)
      const injected = failures.get(action)
      if (injected) {
        injected.times--
        if (injected.times <= 0) failures.delete(action)
        throw new IamError(injected.status, injected.code, injected.message ?? `Injected ${injected.code}`)
      }
      const result = serve(action, params)
      const inner = result === undefined ? '' : `<${action}Result>${result}</${action}Result>`
      return {
        status: 200,
        xml: `<${action}Response xmlns="${XMLNS}">${inner}<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${action}Response>`,
      }
    } catch (err) {
      const error = err instanceof IamError ? err : new IamError(500, 'ServiceFailure', err instanceof Error ? err.message : String(err))
      const type = error.status >= 500 ? 'Receiver' : 'Sender'
      return {
        status: error.status,
        xml:
          `<ErrorResponse xmlns="${XMLNS}"><Error><Type>${type}</Type><Code>${error.code}</Code>` +
          `<Message>${xmlEscape(error.message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
      }
    }
  }

  const server = http.createServer((req, res) => {
    void handle(req).then(({ status, xml }) => {
      res.writeHead(status, { 'content-type': 'text/xml', 'x-amzn-requestid': randomUUID() })
      res.end(`<?xml version="1.0" encoding="UTF-8"?>\n${xml}`)
    })
  })
  server.keepAliveTimeout = 5000
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('the IAM double is not listening on a TCP port')
  const port = address.port

  return {
    url: `http://127.0.0.1:${port}`,
    state,
    calls,
    failNext(action, error, times = 1) {
      if (times > 0) failures.set(action, { ...error, times })
    },
    clearFailures() {
      failures.clear()
    },
    async stop() {
      if (stopped) return
      stopped = true
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
    },
  }
}
