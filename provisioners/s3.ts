/**
 * The S3 resource provisioner: one bucket per instance on an S3 (or S3-compatible) service, with the platform's CORS
 * rule and, where the service has them, lifecycle rules and an IAM user whose policy opens that bucket only.
 */
import {
  AbortMultipartUploadCommand,
  BucketLocationConstraint,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListBucketsCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutBucketCorsCommand,
  PutBucketLifecycleConfigurationCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3'
import {
  CreateAccessKeyCommand,
  CreateUserCommand,
  DeleteAccessKeyCommand,
  DeleteUserCommand,
  DeleteUserPolicyCommand,
  GetUserCommand,
  IAMClient,
  ListAccessKeysCommand,
  ListUserPoliciesCommand,
  ListUsersCommand,
  PutUserPolicyCommand,
} from '@aws-sdk/client-iam'
import { bucketCors, bucketLifecycle, bucketNameProblems, bucketPolicy, iamUserNameProblems, partitionOf } from './s3-documents'
import {
  ProvisionerError,
  ownedPrefix,
  type EnsureOptions,
  type LogSink,
  type OwnedResourceObject,
  type ResourceCredentialsOf,
  type ResourceNames,
  type ResourceProvisioner,
  type ResourceSpec,
  type S3ClusterConnection,
} from './types'

type S3Credentials = ResourceCredentialsOf<'s3'>

const S3_PROVIDER = 'S3'
const IAM_PROVIDER = 'IAM'
type Provider = typeof S3_PROVIDER | typeof IAM_PROVIDER

const DEFAULT_TIMEOUT_MS = 15_000
const ENSURE_STEPS = ['create-bucket', 'put-cors', 'put-lifecycle', 'create-iam-user', 'put-user-policy', 'create-access-key'] as const
type EnsureStep = (typeof ENSURE_STEPS)[number]
const POLICY_NAME = 'tenon-bucket'
const VERIFY_KEY = '.tenon-verify'
/** DeleteObjects takes at most 1000 keys, and a listing page holds at most 1000. */
const PAGE_SIZE = 1000
/** AWS takes a few seconds before S3 accepts a key IAM has just made; verify waits this long for it. */
const KEY_PROPAGATION_MS = 15_000
const KEY_PROPAGATION_PAUSE_MS = 1_000

/** Network failures that may clear up by themselves. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND', 'EPIPE'])
const THROTTLING_CODES = new Set([
  'Throttling',
  'ThrottlingException',
  'SlowDown',
  'TooManyRequests',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'ServiceUnavailable',
])

/** What the SDK said went wrong, read without trusting its shape. */
interface SdkFailure {
  /** the error code without the SDK's "Exception" suffix ("NoSuchEntity"), or the network code ("ECONNREFUSED") */
  code: string
  status?: number
  message: string
  error: unknown
}

function failureOf(error: unknown): SdkFailure {
  let code = 'UnknownError'
  let status: number | undefined
  let message = String(error)
  if (error instanceof Error) {
    message = error.message
    code = error.name
    if ('$metadata' in error) {
      const metadata = error.$metadata
      if (typeof metadata === 'object' && metadata !== null && 'httpStatusCode' in metadata && typeof metadata.httpStatusCode === 'number')
        status = metadata.httpStatusCode
    }
    for (let current: unknown = error, depth = 0; current instanceof Error && depth < 3; current = current.cause, depth++) {
      if ('code' in current && typeof current.code === 'string' && NETWORK_CODES.has(current.code)) code = current.code
    }
  }
  if (code !== 'Exception' && code.endsWith('Exception') && !THROTTLING_CODES.has(code)) code = code.slice(0, -'Exception'.length)
  return { code, status, message: message.replace(/\s+/g, ' ').trim().slice(0, 300), error }
}

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** The previous ensure's access key, when the stored credentials are an S3 resource's. */
function existingKey(existing: EnsureOptions['existing']): { accessKeyId: string; secretAccessKey: string } | undefined {
  if (!existing || !('accessKeyId' in existing) || !('secretAccessKey' in existing)) return undefined
  const { accessKeyId, secretAccessKey } = existing
  return accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey } : undefined
}

export function createS3Provisioner(
  connection: S3ClusterConnection,
  options: { ownerTag: string; timeoutMs?: number },
): ResourceProvisioner<'s3'> {
  if (!options.ownerTag)
    throw new ProvisionerError(S3_PROVIDER, 'configure', 'the owner tag is empty, so list() could not tell our objects apart')
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
  const prefix = ownedPrefix('s3', options.ownerTag)
  const iamPath = `/${options.ownerTag}/`
  const s3Where = connection.endpoint ?? `AWS S3 (${connection.region})`
  const iamWhere = connection.iamEndpoint ?? 'AWS IAM'
  const partition = connection.endpoint ? 'aws' : partitionOf(connection.region)
  const clientBase = {
    region: connection.region,
    // The caller retries failed jobs with backoff; one SDK retry covers a dropped connection without stacking delays.
    maxAttempts: 2,
    requestHandler: { connectionTimeout: Math.min(timeoutMs, 5_000), requestTimeout: timeoutMs },
  }

  function s3ClientFor(
    credentials: { accessKeyId: string; secretAccessKey: string },
    target: Pick<S3Credentials, 'endpoint' | 'region' | 'pathStyle'>,
  ) {
    return new S3Client({
      ...clientBase,
      region: target.region,
      endpoint: target.endpoint,
      forcePathStyle: target.pathStyle ?? false,
      credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey },
      // S3-compatible services often refuse the checksums recent SDKs add to every upload; send them only where S3 needs them.
      ...(target.endpoint ? { requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' } : {}),
    })
  }

  const clusterTarget = { endpoint: connection.endpoint, region: connection.region, pathStyle: connection.pathStyle }
  const s3 = s3ClientFor(connection, clusterTarget)
  const iam = connection.iam
    ? new IAMClient({
        ...clientBase,
        endpoint: connection.iamEndpoint,
        credentials: { accessKeyId: connection.accessKeyId, secretAccessKey: connection.secretAccessKey },
      })
    : undefined

  function toError(provider: Provider, operation: string, failure: SdkFailure, accessKeyId = connection.accessKeyId): ProvisionerError {
    const where = provider === S3_PROVIDER ? s3Where : iamWhere
    const { code, status, message } = failure
    const make = (text: string, retryable: boolean) => new ProvisionerError(provider, operation, text, retryable, { cause: failure.error })
    if (code === 'TimeoutError' || code === 'AbortError' || code === 'RequestTimeout')
      return make(`no answer from ${where} within ${timeoutMs} ms`, true)
    if (NETWORK_CODES.has(code)) return make(`cannot reach ${where}: ${message}`, true)
    if (code === 'InvalidAccessKeyId' || code === 'InvalidClientTokenId')
      return make(`${where} does not know the access key id ${accessKeyId} (${code})`, false)
    if (code === 'SignatureDoesNotMatch')
      return make(`${where} refused the secret access key of ${accessKeyId}: it does not belong to that key id (${code})`, false)
    if (code === 'AccessDenied' || code === 'Forbidden' || status === 403)
      return make(`${where} refused: the credentials of ${accessKeyId} are not allowed to do this (${code}: ${message})`, false)
    if (code === 'NotImplemented' || status === 501)
      return make(`${where} does not implement this (${code}): register the cluster without the capability that needs it`, false)
    const retryable = THROTTLING_CODES.has(code) || status === 429 || (status !== undefined && status >= 500)
    const http = status === undefined ? '' : `, HTTP ${status}`
    return make(`${code}${http}: ${message}`, retryable)
  }

  /** Runs one SDK call with the deadline, and gives back what failed instead of throwing. */
  async function attempt<T>(
    run: (abortSignal: AbortSignal) => Promise<T>,
  ): Promise<{ ok: true; value: T } | { ok: false; failure: SdkFailure }> {
    try {
      return { ok: true, value: await run(AbortSignal.timeout(timeoutMs)) }
    } catch (err) {
      return { ok: false, failure: failureOf(err) }
    }
  }

  async function call<T>(provider: Provider, operation: string, run: (abortSignal: AbortSignal) => Promise<T>): Promise<T> {
    const result = await attempt(run)
    if (!result.ok) throw toError(provider, operation, result.failure)
    return result.value
  }

  /** Like `call`, but the listed error codes (an object already gone, an API the service lacks) give `undefined`. */
  async function callUnless<T>(
    provider: Provider,
    operation: string,
    codes: readonly string[],
    run: (abortSignal: AbortSignal) => Promise<T>,
  ): Promise<T | undefined> {
    const result = await attempt(run)
    if (result.ok) return result.value
    if (codes.includes(result.failure.code)) return undefined
    throw toError(provider, operation, result.failure)
  }

  function checkedBucket(operation: string, bucket: string | undefined): string {
    if (!bucket) throw new ProvisionerError(S3_PROVIDER, operation, "no bucket in the resource's names")
    const problems = bucketNameProblems(bucket)
    if (problems.length > 0)
      throw new ProvisionerError(S3_PROVIDER, operation, `bucket name "${bucket.slice(0, 80)}" is refused: ${problems.join(' ')}`)
    // Anything made without the prefix would be invisible to list(), so the reconciler could never clean it up.
    if (!bucket.startsWith(prefix))
      throw new ProvisionerError(S3_PROVIDER, operation, `bucket name "${bucket}" does not start with "${prefix}"`)
    return bucket
  }

  function checkedUserName(operation: string, userName: string | undefined): string {
    if (!userName) throw new ProvisionerError(IAM_PROVIDER, operation, "no username in the resource's names (the IAM user)")
    const problems = iamUserNameProblems(userName)
    if (problems.length > 0)
      throw new ProvisionerError(IAM_PROVIDER, operation, `IAM user name "${userName.slice(0, 80)}" is refused: ${problems.join(' ')}`)
    if (!userName.startsWith(prefix))
      throw new ProvisionerError(IAM_PROVIDER, operation, `IAM user name "${userName}" does not start with "${prefix}"`)
    return userName
  }

  /** Turns a refused document input (CORS origins, retention) into a ProvisionerError before anything is sent. */
  function checkedDocument<T>(operation: string, make: () => T): T {
    try {
      return make()
    } catch (err) {
      throw new ProvisionerError(S3_PROVIDER, operation, err instanceof Error ? err.message : String(err))
    }
  }

  function credentialsFor(bucket: string, key: { accessKeyId: string; secretAccessKey: string }): S3Credentials {
    return {
      ...(connection.endpoint ? { endpoint: connection.endpoint } : {}),
      region: connection.region,
      bucket,
      accessKeyId: key.accessKeyId,
      secretAccessKey: key.secretAccessKey,
      pathStyle: connection.pathStyle,
    }
  }

  async function ensureBucket(bucket: string, log: LogSink): Promise<void> {
    const head = await attempt((abortSignal) => s3.send(new HeadBucketCommand({ Bucket: bucket }), { abortSignal }))
    if (head.ok) {
      log(`bucket ${bucket} exists already`)
      return
    }
    const { status } = head.failure
    if (status === 403)
      throw new ProvisionerError(
        S3_PROVIDER,
        'check bucket',
        `bucket ${bucket} exists but ${connection.accessKeyId} may not use it: it belongs to another account, or the credentials lack s3:ListBucket`,
      )
    if (status === 301)
      throw new ProvisionerError(S3_PROVIDER, 'check bucket', `bucket ${bucket} exists in another region than ${connection.region}`)
    if (status !== 404) throw toError(S3_PROVIDER, 'check bucket', head.failure)

    let location: BucketLocationConstraint | undefined
    if (!connection.endpoint && connection.region !== 'us-east-1') {
      location = Object.values(BucketLocationConstraint).find((constraint) => constraint === connection.region)
      if (!location)
        throw new ProvisionerError(
          S3_PROVIDER,
          'create bucket',
          `region ${connection.region} is unknown to this version's AWS SDK, which cannot place a bucket there`,
        )
    }
    const created = await attempt((abortSignal) =>
      s3.send(
        new CreateBucketCommand({ Bucket: bucket, ...(location ? { CreateBucketConfiguration: { LocationConstraint: location } } : {}) }),
        { abortSignal },
      ),
    )
    if (created.ok) {
      log(`created bucket ${bucket}`)
      return
    }
    if (created.failure.code === 'BucketAlreadyOwnedByYou') {
      log(`bucket ${bucket} exists already`)
      return
    }
    if (created.failure.code === 'BucketAlreadyExists')
      throw new ProvisionerError(
        S3_PROVIDER,
        'create bucket',
        `bucket name ${bucket} is taken by another account (bucket names are global): the resource needs other names`,
      )
    throw toError(S3_PROVIDER, 'create bucket', created.failure)
  }

  async function ensureUser(client: IAMClient, userName: string, log: LogSink): Promise<void> {
    const created = await attempt((abortSignal) =>
      client.send(new CreateUserCommand({ UserName: userName, Path: iamPath }), { abortSignal }),
    )
    if (created.ok) {
      log(`created IAM user ${userName} under ${iamPath}`)
      return
    }
    if (created.failure.code !== 'EntityAlreadyExists') throw toError(IAM_PROVIDER, 'create user', created.failure)
    const found = await call(IAM_PROVIDER, 'read user', (abortSignal) =>
      client.send(new GetUserCommand({ UserName: userName }), { abortSignal }),
    )
    const path = found.User?.Path
    if (path !== iamPath)
      throw new ProvisionerError(
        IAM_PROVIDER,
        'create user',
        `IAM user ${userName} exists under ${path ?? '(no path)'}, not ${iamPath}: it is not ours`,
      )
    log(`IAM user ${userName} exists already`)
  }

  async function accessKeyIds(client: IAMClient, userName: string): Promise<string[] | undefined> {
    const ids: string[] = []
    let marker: string | undefined
    do {
      const page = await callUnless(IAM_PROVIDER, 'list access keys', ['NoSuchEntity'], (abortSignal) =>
        client.send(new ListAccessKeysCommand({ UserName: userName, Marker: marker }), { abortSignal }),
      )
      if (!page) return undefined
      for (const key of page.AccessKeyMetadata ?? []) if (key.AccessKeyId) ids.push(key.AccessKeyId)
      marker = page.IsTruncated ? page.Marker : undefined
    } while (marker)
    return ids
  }

  async function deleteAccessKey(client: IAMClient, userName: string, accessKeyId: string, log: LogSink): Promise<void> {
    await callUnless(IAM_PROVIDER, 'delete access key', ['NoSuchEntity'], (abortSignal) =>
      client.send(new DeleteAccessKeyCommand({ UserName: userName, AccessKeyId: accessKeyId }), { abortSignal }),
    )
    log(`deleted access key ${accessKeyId} of IAM user ${userName}`)
  }

  async function createAccessKey(
    client: IAMClient,
    userName: string,
    log: LogSink,
  ): Promise<{ accessKeyId: string; secretAccessKey: string }> {
    const created = await call(IAM_PROVIDER, 'create access key', (abortSignal) =>
      client.send(new CreateAccessKeyCommand({ UserName: userName }), { abortSignal }),
    )
    const accessKeyId = created.AccessKey?.AccessKeyId
    const secretAccessKey = created.AccessKey?.SecretAccessKey
    if (!accessKeyId || !secretAccessKey)
      throw new ProvisionerError(IAM_PROVIDER, 'create access key', `${iamWhere} answered without the new key's id or secret`, true)
    log(`created access key ${accessKeyId} for IAM user ${userName}`)
    return { accessKeyId, secretAccessKey }
  }

  async function ensureAccessKey(
    client: IAMClient,
    userName: string,
    existing: EnsureOptions['existing'],
    log: LogSink,
  ): Promise<{ accessKeyId: string; secretAccessKey: string }> {
    const ids = (await accessKeyIds(client, userName)) ?? []
    const previous = existingKey(existing)
    if (previous && ids.includes(previous.accessKeyId)) {
      for (const id of ids) if (id !== previous.accessKeyId) await deleteAccessKey(client, userName, id, log)
      log(`IAM user ${userName} keeps access key ${previous.accessKeyId}`)
      return previous
    }
    // A key we hold no secret for is useless, and one left by a crash between CreateAccessKey and storing its secret
    // would otherwise count against the two keys a user may have.
    for (const id of ids) await deleteAccessKey(client, userName, id, log)
    return createAccessKey(client, userName, log)
  }

  async function emptyBucket(bucket: string, log: LogSink): Promise<boolean> {
    let deleted = 0
    // Always the first page, until it is empty: no continuation tokens to trust, and objects written meanwhile go too.
    for (;;) {
      const page = await callUnless(S3_PROVIDER, 'list objects', ['NoSuchBucket'], (abortSignal) =>
        s3.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: PAGE_SIZE }), { abortSignal }),
      )
      if (!page) return false
      const keys = (page.Contents ?? []).flatMap((object) => (object.Key === undefined ? [] : [{ Key: object.Key }]))
      if (keys.length === 0) break
      const result = await call(S3_PROVIDER, 'delete objects', (abortSignal) =>
        s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }), { abortSignal }),
      )
      const errors = result.Errors ?? []
      if (errors.length > 0) {
        const first = errors[0]
        throw new ProvisionerError(
          S3_PROVIDER,
          'delete objects',
          `${errors.length} objects of bucket ${bucket} were not deleted (first: ${first?.Key ?? '?'}: ${first?.Code ?? '?'} ${first?.Message ?? ''})`.trim(),
          errors.some((e) => e.Code === 'InternalError' || e.Code === 'SlowDown'),
        )
      }
      deleted += keys.length
    }
    if (deleted > 0) log(`deleted ${deleted} objects from bucket ${bucket}`)

    // Unfinished uploads keep their parts (and their cost) after the objects are gone. Not every service lists them.
    for (let round = 0; round < 100; round++) {
      const uploads = await callUnless(
        S3_PROVIDER,
        'list multipart uploads',
        ['NotImplemented', 'MethodNotAllowed', 'NoSuchBucket'],
        (abortSignal) => s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, MaxUploads: PAGE_SIZE }), { abortSignal }),
      )
      const pending = (uploads?.Uploads ?? []).flatMap((u) =>
        u.Key !== undefined && u.UploadId !== undefined ? [{ key: u.Key, id: u.UploadId }] : [],
      )
      if (pending.length === 0) break
      for (const upload of pending)
        await callUnless(S3_PROVIDER, 'abort multipart upload', ['NoSuchUpload'], (abortSignal) =>
          s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: upload.key, UploadId: upload.id }), { abortSignal }),
        )
      log(`aborted ${pending.length} unfinished uploads in bucket ${bucket}`)
    }
    return true
  }

  async function destroyBucket(bucket: string, log: LogSink): Promise<void> {
    if (!(await emptyBucket(bucket, log))) {
      log(`bucket ${bucket} is already gone`)
      return
    }
    const result = await attempt((abortSignal) => s3.send(new DeleteBucketCommand({ Bucket: bucket }), { abortSignal }))
    if (result.ok) log(`deleted bucket ${bucket}`)
    else if (result.failure.code === 'NoSuchBucket') log(`bucket ${bucket} is already gone`)
    else if (result.failure.code === 'BucketNotEmpty')
      throw new ProvisionerError(
        S3_PROVIDER,
        'delete bucket',
        `bucket ${bucket} is still not empty: objects were written meanwhile, or versioning was turned on and old versions remain`,
        true,
      )
    else throw toError(S3_PROVIDER, 'delete bucket', result.failure)
  }

  async function userPolicyNames(client: IAMClient, userName: string): Promise<string[]> {
    const names: string[] = []
    let marker: string | undefined
    do {
      const page = await callUnless(IAM_PROVIDER, 'list user policies', ['NoSuchEntity'], (abortSignal) =>
        client.send(new ListUserPoliciesCommand({ UserName: userName, Marker: marker }), { abortSignal }),
      )
      names.push(...(page?.PolicyNames ?? []))
      marker = page?.IsTruncated ? page.Marker : undefined
    } while (marker)
    return names
  }

  async function deleteUserPolicy(client: IAMClient, userName: string, policyName: string, log: LogSink): Promise<void> {
    await callUnless(IAM_PROVIDER, 'delete user policy', ['NoSuchEntity'], (abortSignal) =>
      client.send(new DeleteUserPolicyCommand({ UserName: userName, PolicyName: policyName }), { abortSignal }),
    )
    log(`deleted policy ${policyName} of IAM user ${userName}`)
  }

  async function destroyUser(client: IAMClient, userName: string, log: LogSink): Promise<void> {
    const found = await callUnless(IAM_PROVIDER, 'read user', ['NoSuchEntity'], (abortSignal) =>
      client.send(new GetUserCommand({ UserName: userName }), { abortSignal }),
    )
    if (!found) {
      log(`IAM user ${userName} is already gone`)
      return
    }
    if (found.User?.Path !== iamPath)
      throw new ProvisionerError(
        IAM_PROVIDER,
        'delete user',
        `IAM user ${userName} is under ${found.User?.Path ?? '(no path)'}, not ${iamPath}: it is not ours`,
      )
    for (const id of (await accessKeyIds(client, userName)) ?? []) await deleteAccessKey(client, userName, id, log)
    for (const policyName of await userPolicyNames(client, userName)) await deleteUserPolicy(client, userName, policyName, log)
    const deleted = await callUnless(IAM_PROVIDER, 'delete user', ['NoSuchEntity'], (abortSignal) =>
      client.send(new DeleteUserCommand({ UserName: userName }), { abortSignal }),
    )
    log(deleted ? `deleted IAM user ${userName}` : `IAM user ${userName} is already gone`)
  }

  return {
    kind: 's3',
    ensureSteps: ENSURE_STEPS,

    async ensure(spec: ResourceSpec, ensureOptions: EnsureOptions = {}): Promise<S3Credentials> {
      const log = ensureOptions.log ?? (() => {})
      // Everything the steps send is checked first, so a bad name or origin changes nothing on the service.
      const bucket = checkedBucket('ensure', spec.names.bucket)
      const userName = iam ? checkedUserName('ensure', spec.names.username) : undefined
      const origins = spec.corsOrigins ?? []
      const cors = origins.length > 0 ? checkedDocument('put CORS', () => bucketCors(origins)) : undefined
      const lifecycle = connection.lifecycle
        ? checkedDocument('put lifecycle', () => bucketLifecycle(connection.trackingLogsRetentionDays))
        : undefined
      const policy = iam ? JSON.stringify(bucketPolicy(bucket, partition)) : undefined

      const step = async (name: EnsureStep, run: () => Promise<void>) => {
        await ensureOptions.onStep?.(name)
        await run()
      }
      let key = { accessKeyId: connection.accessKeyId, secretAccessKey: connection.secretAccessKey }

      await step('create-bucket', () => ensureBucket(bucket, log))
      await step('put-cors', async () => {
        if (!cors) return
        await call(S3_PROVIDER, 'put CORS', (abortSignal) =>
          s3.send(new PutBucketCorsCommand({ Bucket: bucket, CORSConfiguration: cors }), { abortSignal }),
        )
        log(`set CORS of bucket ${bucket} for ${origins.join(', ')}`)
      })
      await step('put-lifecycle', async () => {
        if (!lifecycle) return
        await call(S3_PROVIDER, 'put lifecycle', (abortSignal) =>
          s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket: bucket, LifecycleConfiguration: lifecycle }), { abortSignal }),
        )
        log(`set lifecycle of bucket ${bucket}: tracking logs expire after ${connection.trackingLogsRetentionDays} days`)
      })
      await step('create-iam-user', async () => {
        if (iam && userName) await ensureUser(iam, userName, log)
      })
      await step('put-user-policy', async () => {
        if (!iam || !userName || !policy) return
        await call(IAM_PROVIDER, 'put user policy', (abortSignal) =>
          iam.send(new PutUserPolicyCommand({ UserName: userName, PolicyName: POLICY_NAME, PolicyDocument: policy }), { abortSignal }),
        )
        // Whatever else was granted inline since (by hand, by an older version) goes: the key opens this bucket only.
        for (const other of await userPolicyNames(iam, userName))
          if (other !== POLICY_NAME) await deleteUserPolicy(iam, userName, other, log)
        log(`set policy ${POLICY_NAME} of IAM user ${userName}: bucket ${bucket} only`)
      })
      await step('create-access-key', async () => {
        if (iam && userName) key = await ensureAccessKey(iam, userName, ensureOptions.existing, log)
        // Without IAM the service has no way to make a key limited to one bucket, so the instance gets the cluster's
        // own key, which opens every bucket there: the console tells the operator so.
        else log(`${s3Where} has no IAM: the instance uses the cluster's own access key`)
      })
      return credentialsFor(bucket, key)
    },

    async verify(spec: ResourceSpec, credentials: S3Credentials): Promise<void> {
      const bucket = checkedBucket('verify', spec.names.bucket)
      if (credentials.bucket !== bucket)
        throw new ProvisionerError(
          S3_PROVIDER,
          'verify',
          `the credentials are for bucket ${credentials.bucket}, the resource's bucket is ${bucket}`,
        )
      const client = s3ClientFor(credentials, credentials)
      const body = `tenon verify ${spec.resourceId}`
      const failed = (operation: string, failure: SdkFailure) => toError(S3_PROVIDER, operation, failure, credentials.accessKeyId)
      try {
        const deadline = Date.now() + (iam ? KEY_PROPAGATION_MS : 0)
        for (;;) {
          const put = await attempt((abortSignal) =>
            client.send(new PutObjectCommand({ Bucket: bucket, Key: VERIFY_KEY, Body: body }), { abortSignal }),
          )
          if (put.ok) break
          // A key IAM has just made is unknown to S3 for a few seconds on AWS.
          if (put.failure.code === 'InvalidAccessKeyId' && Date.now() < deadline) {
            await pause(KEY_PROPAGATION_PAUSE_MS)
            continue
          }
          if (iam && put.failure.code === 'InvalidAccessKeyId')
            throw new ProvisionerError(
              S3_PROVIDER,
              'verify: put object',
              `${s3Where} does not know the access key id ${credentials.accessKeyId} yet: a key IAM has just made can take a while to reach S3`,
              true,
              { cause: put.failure.error },
            )
          throw failed('verify: put object', put.failure)
        }
        const got = await attempt(async (abortSignal) => {
          const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: VERIFY_KEY }), { abortSignal })
          return object.Body ? await object.Body.transformToString() : ''
        })
        if (!got.ok) throw failed('verify: get object', got.failure)
        if (got.value !== body)
          throw new ProvisionerError(S3_PROVIDER, 'verify: get object', `bucket ${bucket} gave back other content than was written`, true)
        const deleted = await attempt((abortSignal) =>
          client.send(new DeleteObjectCommand({ Bucket: bucket, Key: VERIFY_KEY }), { abortSignal }),
        )
        if (!deleted.ok) throw failed('verify: delete object', deleted.failure)
      } finally {
        client.destroy()
      }
    },

    async rotate(spec: ResourceSpec, current: S3Credentials): Promise<S3Credentials> {
      if (!iam)
        throw new ProvisionerError(
          S3_PROVIDER,
          'rotate',
          `${s3Where} has no IAM: the instance uses the cluster's own access key, which must be rotated at the service (then update the cluster's credentials)`,
        )
      const bucket = checkedBucket('rotate', spec.names.bucket)
      const userName = checkedUserName('rotate', spec.names.username)
      const log: LogSink = () => {}
      const ids = await accessKeyIds(iam, userName)
      if (!ids) throw new ProvisionerError(IAM_PROVIDER, 'rotate', `IAM user ${userName} does not exist: ensure the resource first`)
      // A user may hold two keys: make room for the new one without removing the key the instance still runs with.
      if (ids.length >= 2) for (const id of ids) if (id !== current.accessKeyId) await deleteAccessKey(iam, userName, id, log)
      const fresh = await createAccessKey(iam, userName, log)
      for (const id of (await accessKeyIds(iam, userName)) ?? [])
        if (id !== fresh.accessKeyId) await deleteAccessKey(iam, userName, id, log)
      return credentialsFor(bucket, fresh)
    },

    async destroy(names: ResourceNames, log: LogSink = () => {}): Promise<void> {
      if (names.bucket !== undefined) {
        const problems = bucketNameProblems(names.bucket)
        // Such a bucket cannot exist (we never create one), so there is nothing to delete.
        if (problems.length > 0) log(`no bucket to delete: "${names.bucket.slice(0, 80)}" is not a valid bucket name`)
        else await destroyBucket(names.bucket, log)
      }
      if (iam && names.username !== undefined) {
        if (iamUserNameProblems(names.username).length > 0)
          log(`no IAM user to delete: "${names.username.slice(0, 80)}" is not a valid user name`)
        else await destroyUser(iam, names.username, log)
      }
    },

    async list(): Promise<OwnedResourceObject[]> {
      const owned: OwnedResourceObject[] = []
      let token: string | undefined
      do {
        const page = await call(S3_PROVIDER, 'list buckets', (abortSignal) =>
          s3.send(new ListBucketsCommand({ Prefix: prefix, ContinuationToken: token }), { abortSignal }),
        )
        for (const bucket of page.Buckets ?? []) if (bucket.Name?.startsWith(prefix)) owned.push({ type: 'bucket', name: bucket.Name })
        token = page.ContinuationToken
      } while (token)
      if (iam) {
        let marker: string | undefined
        do {
          const page = await call(IAM_PROVIDER, 'list users', (abortSignal) =>
            iam.send(new ListUsersCommand({ PathPrefix: iamPath, Marker: marker }), { abortSignal }),
          )
          for (const user of page.Users ?? [])
            if (user.UserName && user.Path === iamPath) owned.push({ type: 'iam-user', name: user.UserName })
          marker = page.IsTruncated ? page.Marker : undefined
        } while (marker)
      }
      return owned
    },

    async testConnection(): Promise<void> {
      await call(S3_PROVIDER, 'list buckets', (abortSignal) => s3.send(new ListBucketsCommand({}), { abortSignal }))
      if (iam) await call(IAM_PROVIDER, 'read own user', (abortSignal) => iam.send(new GetUserCommand({}), { abortSignal }))
    },

    async close(): Promise<void> {
      s3.destroy()
      iam?.destroy()
    },
  }
}
