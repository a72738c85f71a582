import { PassThrough, type Writable } from 'node:stream'
import { S3Client } from '@aws-sdk/client-s3'
import { Upload } from '@aws-sdk/lib-storage'
import { ProvisionerError, type S3ClusterConnection } from './types'

/**
 * Streams what `produce` writes into one S3 object (multipart, so its size need not be known), for the final
 * export of an archived instance. An error on either side aborts the upload, so no partial object is left.
 */
export async function uploadStream<T>(
  connection: S3ClusterConnection,
  target: { bucket: string; key: string },
  produce: (output: Writable) => Promise<T>,
  options: { timeoutMs?: number } = {},
): Promise<T> {
  const client = new S3Client({
    region: connection.region,
    endpoint: connection.endpoint,
    forcePathStyle: connection.pathStyle,
    credentials: { accessKeyId: connection.accessKeyId, secretAccessKey: connection.secretAccessKey },
    requestHandler: { connectionTimeout: 5_000, requestTimeout: options.timeoutMs ?? 60_000 },
    // As for the provisioner: S3-compatible services often refuse the checksums recent SDKs add to uploads.
    ...(connection.endpoint ? { requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' } : {}),
  })
  const body = new PassThrough()
  const upload = new Upload({ client, params: { Bucket: target.bucket, Key: target.key, Body: body } })
  const uploaded = upload.done()
  // A failed upload stops the writer too (nobody would read the stream any more, and it would wait forever).
  uploaded.catch((err: unknown) => body.destroy(err instanceof Error ? err : new Error(String(err))))
  try {
    const result = await produce(body)
    await uploaded
    return result
  } catch (err) {
    body.destroy()
    await upload.abort().catch(() => undefined)
    if (err instanceof ProvisionerError) throw err
    const where = connection.endpoint ?? `AWS S3 (${connection.region})`
    const name = err instanceof Error ? err.name : 'Error'
    const message = err instanceof Error ? err.message : String(err)
    throw new ProvisionerError(
      'S3',
      'upload',
      `s3://${target.bucket}/${target.key} at ${where}: ${name}: ${message}`,
      name !== 'NoSuchBucket',
    )
  } finally {
    client.destroy()
  }
}
