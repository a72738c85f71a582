import { randomUUID } from 'node:crypto'
import http from 'node:http'
import {
  CreateMultipartUploadCommand,
  GetBucketCorsCommand,
  GetObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  DeleteObjectCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3'
import { CreateAccessKeyCommand, CreateUserCommand, IAMClient, PutUserPolicyCommand } from '@aws-sdk/client-iam'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createS3Provisioner } from '@/provisioners/s3'
import { bucketCors, bucketPolicy } from '@/provisioners/s3-documents'
import { ownedPrefix, type ResourceNames, type ResourceSpec, type S3ClusterConnection } from '@/provisioners/types'
import type { S3Resource } from '@/lib/blueprints'
import { startIamDouble, type IamDouble } from '@/test/fakes/iam/server'
import { S3RVER_CREDENTIALS, startS3rver, type RunningS3rver } from '@/test/support/s3rver'
import { rejection } from '@/test/support/rejection'

const ownerTag = `t${randomUUID().slice(0, 8)}`
const prefix = ownedPrefix('s3', ownerTag)
const ORIGINS = ['https://lms.redwood.example.test', 'https://studio.redwood.example.test']
const short = () => randomUUID().slice(0, 8)

let s3rver: RunningS3rver
let iamDouble: IamDouble
/** Every provisioner a test made, closed in afterAll. */
const provisioners: { close(): Promise<void> }[] = []
const clients: { destroy(): void }[] = []

function connection(overrides: Partial<S3ClusterConnection> = {}): S3ClusterConnection {
  return {
    endpoint: s3rver.endpoint,
    region: 'us-east-1',
    ...S3RVER_CREDENTIALS,
    pathStyle: true,
    iam: false,
    lifecycle: false,
    trackingLogsRetentionDays: 30,
    ...overrides,
  }
}

function provisioner(overrides: Partial<S3ClusterConnection> = {}, timeoutMs = 5_000) {
  const made = createS3Provisioner(connection(overrides), { ownerTag, timeoutMs })
  provisioners.push(made)
  return made
}

const withIam = (overrides: Partial<S3ClusterConnection> = {}) => provisioner({ iam: true, iamEndpoint: iamDouble.url, ...overrides })

function namesFor(label: string): ResourceNames {
  const name = `${prefix}${label}-${short()}`
  return { bucket: name, username: name }
}

function specFor(names: ResourceNames, overrides: Partial<ResourceSpec> = {}): ResourceSpec {
  return { resourceId: randomUUID(), instanceSlug: 'redwood', names, password: 'unused-by-s3', corsOrigins: ORIGINS, ...overrides }
}

function s3Client(credentials: { accessKeyId: string; secretAccessKey: string }): S3Client {
  const client = new S3Client({
    endpoint: s3rver.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey },
    maxAttempts: 1,
  })
  clients.push(client)
  return client
}

function iamClient(): IAMClient {
  const client = new IAMClient({ endpoint: iamDouble.url, region: 'us-east-1', credentials: S3RVER_CREDENTIALS, maxAttempts: 1 })
  clients.push(client)
  return client
}

async function bucketNames(): Promise<string[]> {
  const answer = await s3Client(S3RVER_CREDENTIALS).send(new ListBucketsCommand({}))
  return (answer.Buckets ?? []).flatMap((b) => (b.Name ? [b.Name] : []))
}

async function errorCode(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => 'no error',
    (e: unknown) => (e instanceof Error ? e.name : String(e)),
  )
}

function keysOf(userName: string) {
  return [...iamDouble.state.keys.values()].filter((k) => k.userName === userName)
}

/** What a clean ensure returns for a bucket on this s3rver without IAM. */
function clusterCredentials(bucket: string): S3Resource {
  return { endpoint: s3rver.endpoint, region: 'us-east-1', bucket, ...S3RVER_CREDENTIALS, pathStyle: true }
}

/** An HTTP server that counts requests and answers none of them usefully: "did the provisioner call out?" */
async function countingServer(hang = false): Promise<{ url: string; requests: () => number; stop: () => Promise<void> }> {
  let requests = 0
  const server = http.createServer((_req, res) => {
    requests++
    if (!hang) res.writeHead(500).end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('not listening on a TCP port')
  return {
    url: `http://127.0.0.1:${address.port}`,
    requests: () => requests,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

beforeAll(async () => {
  s3rver = await startS3rver()
  // Keys IAM makes open s3rver, and deleted ones stop working, as on AWS.
  iamDouble = await startIamDouble({
    ...S3RVER_CREDENTIALS,
    onKeyCreated: (key) => s3rver.allowAccessKey(key.accessKeyId, key.secretAccessKey),
    onKeyDeleted: (key) => s3rver.revokeAccessKey(key.accessKeyId),
  })
})

afterAll(async () => {
  try {
    if (s3rver && iamDouble) {
      const cleaner = withIam()
      for (const object of await cleaner.list())
        await cleaner.destroy(object.type === 'bucket' ? { bucket: object.name } : { username: object.name })
    }
  } finally {
    for (const made of provisioners) await made.close()
    for (const client of clients) client.destroy()
    await iamDouble?.stop()
    await s3rver?.stop()
  }
})

describe('S3 provisioner against s3rver, without IAM', () => {
  it("gives each instance a bucket its credentials open, with the platform's CORS rule", async () => {
    const s3 = provisioner()
    const [namesA, namesB] = [namesFor('a'), namesFor('b')]
    const lines: string[] = []
    const a = await s3.ensure(specFor(namesA), { log: (line) => lines.push(line) })
    const b = await s3.ensure(specFor(namesB))
    expect(a).toEqual(clusterCredentials(namesA.bucket ?? ''))
    expect(b.bucket).toBe(namesB.bucket)
    expect(lines.some((l) => l.includes('no IAM'))).toBe(true)
    expect(lines.join('\n')).not.toContain(a.secretAccessKey)

    const client = s3Client(a)
    await client.send(new PutObjectCommand({ Bucket: a.bucket, Key: 'uploads/course-image.png', Body: 'png bytes' }))
    const object = await client.send(new GetObjectCommand({ Bucket: a.bucket, Key: 'uploads/course-image.png' }))
    expect(await object.Body?.transformToString()).toBe('png bytes')
    const listed = await client.send(new ListObjectsV2Command({ Bucket: a.bucket }))
    expect(listed.Contents?.map((o) => o.Key)).toEqual(['uploads/course-image.png'])
    await client.send(new DeleteObjectCommand({ Bucket: a.bucket, Key: 'uploads/course-image.png' }))
    expect((await client.send(new ListObjectsV2Command({ Bucket: a.bucket }))).KeyCount).toBe(0)
    expect((await client.send(new ListObjectsV2Command({ Bucket: b.bucket }))).KeyCount).toBe(0)

    const cors = await client.send(new GetBucketCorsCommand({ Bucket: a.bucket }))
    expect(cors.CORSRules).toEqual(bucketCors(ORIGINS).CORSRules)

    await s3.verify(specFor(namesA), a)
    await s3.verify(specFor(namesB), b)
    expect(await s3.ensure(specFor(namesA))).toEqual(a)
    expect((await s3.list()).filter((o) => o.name === a.bucket || o.name === b.bucket)).toEqual(
      expect.arrayContaining([
        { type: 'bucket', name: a.bucket },
        { type: 'bucket', name: b.bucket },
      ]),
    )
    await s3.testConnection()
  })

  it('completes on the next ensure whatever a failure at any step left half done', async () => {
    const s3 = provisioner()
    for (const failing of s3.ensureSteps) {
      const names = namesFor('step')
      const seen: string[] = []
      const err = await s3
        .ensure(specFor(names), {
          onStep: (step) => {
            seen.push(step)
            if (step === failing) throw new Error(`injected failure at ${step}`)
          },
        })
        .then(
          () => undefined,
          (e: unknown) => e,
        )
      expect(err, failing).toBeInstanceOf(Error)
      expect(seen).toEqual(s3.ensureSteps.slice(0, s3.ensureSteps.indexOf(failing) + 1))

      const steps: string[] = []
      const result = await s3.ensure(specFor(names), { onStep: (step) => void steps.push(step) })
      expect(steps).toEqual([...s3.ensureSteps])
      expect(result, failing).toEqual(clusterCredentials(names.bucket ?? ''))
      await s3.verify(specFor(names), result)
      const cors = await s3Client(result).send(new GetBucketCorsCommand({ Bucket: result.bucket }))
      expect(cors.CORSRules).toEqual(bucketCors(ORIGINS).CORSRules)
      await s3.destroy(names)
    }
  })

  it('destroy empties and removes the bucket, and is fine when it is already gone', async () => {
    const s3 = provisioner()
    const names = namesFor('gone')
    const credentials = await s3.ensure(specFor(names))
    const client = s3Client(credentials)
    // Fewer than one listing page: s3rver cannot make continuation tokens (it uses DES, which OpenSSL 3 lacks).
    const keys = Array.from({ length: 300 }, (_, i) => `tracking-logs/${String(i).padStart(4, '0')}.log`)
    for (let i = 0; i < keys.length; i += 50)
      await Promise.all(
        keys.slice(i, i + 50).map((Key) => client.send(new PutObjectCommand({ Bucket: credentials.bucket, Key, Body: 'x' }))),
      )
    await client.send(new PutObjectCommand({ Bucket: credentials.bucket, Key: 'a/deeply/nested/object.txt', Body: 'nested' }))
    // s3rver cannot list unfinished uploads (NotImplemented): destroy goes on without them.
    await client.send(new CreateMultipartUploadCommand({ Bucket: credentials.bucket, Key: 'video.mp4' }))

    expect(await bucketNames()).toContain(credentials.bucket)
    const lines: string[] = []
    await s3.destroy(names, (line) => lines.push(line))
    expect(lines).toContain(`deleted 301 objects from bucket ${credentials.bucket}`)
    expect(lines).toContain(`deleted bucket ${credentials.bucket}`)
    expect(await bucketNames()).not.toContain(credentials.bucket)
    expect((await s3.list()).map((o) => o.name)).not.toContain(credentials.bucket)

    const again: string[] = []
    await s3.destroy(names, (line) => again.push(line))
    expect(again).toEqual([`bucket ${credentials.bucket} is already gone`])
    await s3.destroy({})
    await s3.destroy({ username: names.username, vhost: 'unrelated' })
    const invalid: string[] = []
    await s3.destroy({ bucket: 'Not_A.Bucket' }, (line) => invalid.push(line))
    expect(invalid[0]).toMatch(/not a valid bucket name/)
  })

  it('refuses bad names and origins before calling the service', async () => {
    const counting = await countingServer()
    try {
      const s3 = provisioner({ endpoint: counting.url })
      const cases: [ResourceNames, RegExp][] = [
        [{}, /no bucket in the resource's names/],
        [{ bucket: `${prefix}Upper` }, /lowercase letters, digits and hyphens.*"U"/],
        [{ bucket: `${prefix}dotted.name` }, /dots are refused/],
        [{ bucket: `${prefix}x`.padEnd(64, 'x') }, /3 to 63 characters long; this one has 64/],
        [{ bucket: `${prefix}ends-` }, /must end with a lowercase letter or a digit/],
        [{ bucket: `${prefix}z--x-s3` }, /must not end with "--x-s3"/],
        [{ bucket: `other-${short()}` }, new RegExp(`does not start with "${prefix}"`)],
      ]
      for (const [names, message] of cases) {
        const err = await rejection(s3.ensure(specFor(names)))
        expect(err.provider).toBe('S3')
        expect(err.retryable).toBe(false)
        expect(err.message).toMatch(message)
      }
      const origin = await rejection(s3.ensure(specFor(namesFor('cors'), { corsOrigins: ['http://lms.example.test'] })))
      expect(origin.message).toMatch(/only https:\/\/ origins/)
      const iam = withIam({ endpoint: counting.url, iamEndpoint: counting.url })
      const user = await rejection(iam.ensure(specFor({ bucket: `${prefix}ok-${short()}`, username: `${prefix}Bad_User` })))
      expect(user.provider).toBe('IAM')
      expect(user.message).toMatch(/IAM user name .* is refused/)
      expect(counting.requests()).toBe(0)
    } finally {
      await counting.stop()
    }
  })

  it('says the service is unreachable, or silent, as retryable errors', async () => {
    const unreachable = provisioner({ endpoint: 'http://127.0.0.1:1' })
    for (const run of [() => unreachable.ensure(specFor(namesFor('down'))), () => unreachable.list(), () => unreachable.testConnection()]) {
      const err = await rejection(run())
      expect(err.provider).toBe('S3')
      expect(err.retryable).toBe(true)
      expect(err.message).toMatch(/cannot reach http:\/\/127\.0\.0\.1:1: .*ECONNREFUSED/)
    }
    const silent = await countingServer(true)
    try {
      const err = await rejection(provisioner({ endpoint: silent.url }, 300).testConnection())
      expect(err.retryable).toBe(true)
      expect(err.message).toBe(`S3 list buckets: no answer from ${silent.url} within 300 ms`)
    } finally {
      await silent.stop()
    }
  })

  it('refuses to rotate without IAM, and says which capability a service lacks', async () => {
    const s3 = provisioner()
    const names = namesFor('rot')
    const credentials = await s3.ensure(specFor(names))
    const err = await rejection(s3.rotate(specFor(names), credentials))
    expect(err.retryable).toBe(false)
    expect(err.message).toMatch(/has no IAM: the instance uses the cluster's own access key, which must be rotated at the service/)

    // s3rver has no lifecycle rules: a cluster registered as having them fails clearly, and for good.
    const lifecycle = await rejection(provisioner({ lifecycle: true }).ensure(specFor(names)))
    expect(lifecycle.operation).toBe('put lifecycle')
    expect(lifecycle.retryable).toBe(false)
    expect(lifecycle.message).toMatch(/does not implement this \(NotImplemented\)/)
    await s3.destroy(names)
  })

  it('names a wrong access key in testConnection', async () => {
    const wrong = provisioner({ accessKeyId: 'NOT-A-KEY', secretAccessKey: 'not-a-secret' })
    const err = await rejection(wrong.testConnection())
    expect(err.provider).toBe('S3')
    expect(err.retryable).toBe(false)
    expect(err.message).toBe(`S3 list buckets: ${s3rver.endpoint} does not know the access key id NOT-A-KEY (InvalidAccessKeyId)`)
    expect(err.message).not.toContain('not-a-secret')
  })
})

describe('S3 provisioner against s3rver and the IAM double', () => {
  it('makes a user under the owner path with exactly the bucket policy, and one key that opens the bucket', async () => {
    const s3 = withIam()
    const names = namesFor('iam')
    const userName = names.username ?? ''
    const lines: string[] = []
    const credentials = await s3.ensure(specFor(names), { log: (line) => lines.push(line) })

    const user = iamDouble.state.users.get(userName)
    expect(user?.path).toBe(`/${ownerTag}/`)
    const policies = iamDouble.state.policies.get(userName)
    expect([...(policies?.keys() ?? [])]).toEqual(['tenon-bucket'])
    expect(JSON.parse(policies?.get('tenon-bucket') ?? '{}')).toEqual(bucketPolicy(names.bucket ?? ''))
    const keys = keysOf(userName)
    expect(keys.map((k) => k.accessKeyId)).toEqual([credentials.accessKeyId])
    expect(credentials).toEqual({
      endpoint: s3rver.endpoint,
      region: 'us-east-1',
      bucket: names.bucket,
      accessKeyId: keys[0]?.accessKeyId,
      secretAccessKey: keys[0]?.secretAccessKey,
      pathStyle: true,
    })
    expect(lines.join('\n')).not.toContain(credentials.secretAccessKey)
    await s3.verify(specFor(names), credentials)
    expect(await s3.list()).toEqual(
      expect.arrayContaining([
        { type: 'bucket', name: names.bucket },
        { type: 'iam-user', name: userName },
      ]),
    )
    await s3.testConnection()

    // The stored credentials come back as `existing`: the key is kept, and a policy added by hand since goes.
    await iamClient().send(
      new PutUserPolicyCommand({
        UserName: userName,
        PolicyName: 'added-by-hand',
        PolicyDocument: JSON.stringify(bucketPolicy('other-bucket')),
      }),
    )
    expect(await s3.ensure(specFor(names), { existing: credentials })).toEqual(credentials)
    expect(keysOf(userName).map((k) => k.accessKeyId)).toEqual([credentials.accessKeyId])
    expect([...(iamDouble.state.policies.get(userName)?.keys() ?? [])]).toEqual(['tenon-bucket'])

    // Ensure succeeded but its result was lost: the next ensure cannot know the old secret, so it replaces the key.
    const again = await s3.ensure(specFor(names))
    expect(again.accessKeyId).not.toBe(credentials.accessKeyId)
    expect(keysOf(userName).map((k) => k.accessKeyId)).toEqual([again.accessKeyId])
    await s3.verify(specFor(names), again)
    expect(await errorCode(s3Client(credentials).send(new ListObjectsV2Command({ Bucket: names.bucket })))).toBe('InvalidAccessKeyId')
  })

  it('completes on the next ensure whatever a failure at any step left half done, with one key', async () => {
    const s3 = withIam()
    for (const failing of s3.ensureSteps) {
      const names = namesFor('istep')
      const err = await s3
        .ensure(specFor(names), {
          onStep: (step) => {
            if (step === failing) throw new Error(`injected failure at ${step}`)
          },
        })
        .then(
          () => undefined,
          (e: unknown) => e,
        )
      expect(err, failing).toBeInstanceOf(Error)
      const result = await s3.ensure(specFor(names))
      const userName = names.username ?? ''
      expect(
        keysOf(userName).map((k) => k.accessKeyId),
        failing,
      ).toEqual([result.accessKeyId])
      expect(JSON.parse(iamDouble.state.policies.get(userName)?.get('tenon-bucket') ?? '{}')).toEqual(bucketPolicy(names.bucket ?? ''))
      expect(result.bucket).toBe(names.bucket)
      await s3.verify(specFor(names), result)
      await s3.destroy(names)
    }
  })

  it('rotate makes a new key and deletes the others, also when the user already has two', async () => {
    const s3 = withIam()
    const names = namesFor('rot')
    const userName = names.username ?? ''
    const first = await s3.ensure(specFor(names))
    const second = await s3.rotate(specFor(names), first)
    expect(second.accessKeyId).not.toBe(first.accessKeyId)
    expect({ ...second, accessKeyId: '', secretAccessKey: '' }).toEqual({ ...first, accessKeyId: '', secretAccessKey: '' })
    expect(keysOf(userName).map((k) => k.accessKeyId)).toEqual([second.accessKeyId])
    await s3.verify(specFor(names), second)
    expect(await errorCode(s3Client(first).send(new ListObjectsV2Command({ Bucket: names.bucket })))).toBe('InvalidAccessKeyId')

    // A rotate that crashed after CreateAccessKey left a second key: the next one still makes room and ends with one.
    const stray = await iamClient().send(new CreateAccessKeyCommand({ UserName: userName }))
    expect(keysOf(userName)).toHaveLength(2)
    const third = await s3.rotate(specFor(names), second)
    expect(keysOf(userName).map((k) => k.accessKeyId)).toEqual([third.accessKeyId])
    expect([second.accessKeyId, stray.AccessKey?.AccessKeyId]).not.toContain(third.accessKeyId)
    await s3.verify(specFor(names), third)
  })

  it('destroy removes the keys, the policy, the user and the bucket; twice is fine', async () => {
    const s3 = withIam()
    const names = namesFor('idel')
    const userName = names.username ?? ''
    const credentials = await s3.ensure(specFor(names))
    await s3Client(credentials).send(new PutObjectCommand({ Bucket: credentials.bucket, Key: 'file.txt', Body: 'x' }))
    await s3.destroy(names)
    expect(iamDouble.state.users.has(userName)).toBe(false)
    expect(iamDouble.state.policies.has(userName)).toBe(false)
    expect(keysOf(userName)).toEqual([])
    expect(await bucketNames()).not.toContain(credentials.bucket)
    expect((await s3.list()).map((o) => o.name)).not.toContain(userName)
    await s3.destroy(names)
    await s3.destroy({ username: userName })

    // Partial names remove just what they name.
    const partial = namesFor('ipart')
    await s3.ensure(specFor(partial))
    await s3.destroy({ username: partial.username })
    expect(iamDouble.state.users.has(partial.username ?? '')).toBe(false)
    expect(await bucketNames()).toContain(partial.bucket)
    await s3.destroy({ bucket: partial.bucket })
    expect(await bucketNames()).not.toContain(partial.bucket)
  })

  it('refuses a user of the same name outside the owner path, and never deletes it', async () => {
    const s3 = withIam()
    const names = namesFor('foreign')
    const userName = names.username ?? ''
    await iamClient().send(new CreateUserCommand({ UserName: userName, Path: '/someone-else/' }))
    const err = await rejection(s3.ensure(specFor(names)))
    expect(err.message).toMatch(/exists under \/someone-else\/, not \/t[0-9a-f]{8}\/: it is not ours/)
    const destroyed = await rejection(s3.destroy({ username: userName }))
    expect(destroyed.message).toMatch(/it is not ours/)
    expect(iamDouble.state.users.has(userName)).toBe(true)
    iamDouble.state.users.delete(userName)
    await s3.destroy({ bucket: names.bucket })
  })

  it('says what is wrong with the IAM credentials, and retries IAM failures', async () => {
    // s3rver does not check secrets, so the wrong secret gets past S3 and IAM names it.
    const wrongSecret = withIam({ secretAccessKey: 'wrong-secret-value' })
    const err = await rejection(wrongSecret.testConnection())
    expect(err.provider).toBe('IAM')
    expect(err.retryable).toBe(false)
    expect(err.message).toMatch(/refused the secret access key of S3RVER: it does not belong to that key id \(SignatureDoesNotMatch\)/)
    expect(err.message).not.toContain('wrong-secret-value')

    s3rver.allowAccessKey('KEY-S3-KNOWS', 'secret')
    const unknownToIam = withIam({ accessKeyId: 'KEY-S3-KNOWS', secretAccessKey: 'secret' })
    const unknown = await rejection(unknownToIam.testConnection())
    expect(unknown.message).toBe(`IAM read own user: ${iamDouble.url} does not know the access key id KEY-S3-KNOWS (InvalidClientTokenId)`)
    s3rver.revokeAccessKey('KEY-S3-KNOWS')

    const s3 = withIam()
    const names = namesFor('i5xx')
    iamDouble.failNext('PutUserPolicy', { status: 503, code: 'ServiceUnavailable', message: 'Service is unavailable' }, 10)
    try {
      const unavailable = await rejection(s3.ensure(specFor(names)))
      expect(unavailable.provider).toBe('IAM')
      expect(unavailable.operation).toBe('put user policy')
      expect(unavailable.retryable).toBe(true)
    } finally {
      iamDouble.clearFailures()
    }
    const result = await s3.ensure(specFor(names))
    await s3.verify(specFor(names), result)
    await s3.destroy(names)
  })
})
