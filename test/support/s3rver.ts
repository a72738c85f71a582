import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import S3rver from 's3rver'
import AWSAccount from 's3rver/lib/models/account.js'

/**
 * s3rver knows one account whose only access key is "S3RVER" (any secret: it does not check SigV4 signatures).
 * Requests signed with another key id fail with InvalidAccessKeyId, as on AWS.
 */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }

export interface RunningS3rver {
  /** e.g. "http://127.0.0.1:41234" (path-style addressing) */
  endpoint: string
  /**
   * Makes s3rver accept this key id from now on (what AWS does once IAM made a key), so keys made by the IAM double
   * open the bucket. The registry is s3rver's, shared by every s3rver in this process.
   */
  allowAccessKey(accessKeyId: string, secretAccessKey: string): void
  /** s3rver answers this key id with InvalidAccessKeyId from now on (IAM deleted the key). */
  revokeAccessKey(accessKeyId: string): void
  stop(): Promise<void>
}

/** An s3rver on 127.0.0.1 (port from the OS), silent, storing in a fresh temporary directory removed on stop. */
export async function startS3rver(): Promise<RunningS3rver> {
  const directory = await mkdtemp(path.join(os.tmpdir(), 'tenon-s3rver-'))
  // vhostBuckets off: with it, a Host header that looks like "<bucket>.localhost" would be read as a bucket name.
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, vhostBuckets: false })
  const address = await server.run().catch(async (err: unknown) => {
    await rm(directory, { recursive: true, force: true })
    throw err
  })
  let stopped = false
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    allowAccessKey: (accessKeyId, secretAccessKey) => AWSAccount.DUMMY_ACCOUNT.createKeyPair(accessKeyId, secretAccessKey),
    revokeAccessKey: (accessKeyId) => {
      if (accessKeyId !== S3RVER_CREDENTIALS.accessKeyId) AWSAccount.DUMMY_ACCOUNT.revokeAccessKey(accessKeyId)
    },
    async stop() {
      if (stopped) return
      stopped = true
      try {
        await server.close()
      } finally {
        await rm(directory, { recursive: true, force: true })
      }
    },
  }
}
