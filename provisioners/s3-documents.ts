/**
 * The documents the S3 provisioner sends (bucket CORS, lifecycle, the per-bucket IAM policy) and the name rules it
 * checks before sending anything. Pure: no I/O, so what s3rver cannot run (lifecycle, IAM) is still tested.
 */
import type { BucketLifecycleConfiguration, CORSConfiguration } from '@aws-sdk/client-s3'

const RESERVED_PREFIXES = ['xn--', 'sthree-', 'amzn-s3-demo-']
// "--table-s3" joined AWS's list with S3 Tables; the rest are in the brief's list of general-purpose bucket rules.
const RESERVED_SUFFIXES = ['-s3alias', '--ol-s3', '.mrap', '--x-s3', '--table-s3']

/**
 * What is wrong with `name` as a general-purpose bucket name (AWS's rules, plus: no dots, because a dotted name
 * no longer matches the wildcard TLS certificate of virtual-hosted addressing). Empty when it is fine.
 */
export function bucketNameProblems(name: string): string[] {
  const problems: string[] = []
  if (name.length < 3 || name.length > 63) problems.push(`A bucket name must be 3 to 63 characters long; this one has ${name.length}.`)
  const bad = [...new Set(name.replace(/[a-z0-9-]/g, ''))]
  if (bad.length > 0)
    problems.push(
      `A bucket name may contain only lowercase letters, digits and hyphens (dots are refused too: they break TLS with virtual-hosted addressing); found ${bad.map((c) => JSON.stringify(c)).join(', ')}.`,
    )
  if (name.length > 0 && !/^[a-z0-9]/.test(name)) problems.push('A bucket name must start with a lowercase letter or a digit.')
  if (name.length > 0 && !/[a-z0-9]$/.test(name)) problems.push('A bucket name must end with a lowercase letter or a digit.')
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(name)) problems.push('A bucket name must not look like an IP address.')
  for (const prefix of RESERVED_PREFIXES)
    if (name.startsWith(prefix)) problems.push(`A bucket name must not start with "${prefix}" (reserved by AWS).`)
  for (const suffix of RESERVED_SUFFIXES)
    if (name.endsWith(suffix)) problems.push(`A bucket name must not end with "${suffix}" (reserved by AWS).`)
  return problems
}

/**
 * What is wrong with `name` as the IAM user of one bucket. IAM itself allows up to 64 of [\w+=,.@-]; we keep to
 * what our names are made of, so a name is the same everywhere it appears (ARNs, paths, logs).
 */
export function iamUserNameProblems(name: string): string[] {
  const problems: string[] = []
  if (name.length < 1 || name.length > 64) problems.push(`An IAM user name must be 1 to 64 characters long; this one has ${name.length}.`)
  const bad = [...new Set(name.replace(/[a-z0-9-]/g, ''))]
  if (bad.length > 0)
    problems.push(
      `An IAM user name may contain only lowercase letters, digits and hyphens here; found ${bad.map((c) => JSON.stringify(c)).join(', ')}.`,
    )
  return problems
}

/**
 * The bucket's CORS rule for the platform's browser uploads (the LMS and Studio post files straight to S3).
 * `origins` are the instance's own sites: https only, except http://localhost for development.
 */
export function bucketCors(origins: string[]): CORSConfiguration {
  if (origins.length === 0) throw new Error('CORS needs at least one origin (the instance has no hostname yet?).')
  const allowed: string[] = []
  for (const origin of origins) {
    const problem = originProblem(origin)
    if (problem) throw new Error(`CORS origin ${JSON.stringify(origin)} is not allowed: ${problem}`)
    if (!allowed.includes(origin)) allowed.push(origin)
  }
  return {
    CORSRules: [
      {
        AllowedMethods: ['GET', 'PUT', 'POST', 'HEAD'],
        AllowedOrigins: allowed,
        AllowedHeaders: ['*'],
        ExposeHeaders: ['ETag'],
        MaxAgeSeconds: 3000,
      },
    ],
  }
}

function originProblem(origin: string): string | undefined {
  let url: URL
  try {
    url = new URL(origin)
  } catch {
    return 'it is not a URL such as https://lms.example.com.'
  }
  if (url.origin !== origin) return `an origin is scheme and host only, without path, query or trailing slash (e.g. ${url.origin}).`
  if (url.protocol === 'https:') return undefined
  if (url.protocol === 'http:' && url.hostname === 'localhost') return undefined
  return 'only https:// origins are allowed (and http://localhost for development).'
}

export const TRACKING_LOGS_RULE_ID = 'tenon-tracking-logs'
export const ABORT_UPLOADS_RULE_ID = 'tenon-abort-incomplete-uploads'

/**
 * Tracking logs expire after the retention period; multipart uploads left unfinished (a closed browser tab) are
 * cleaned after a week, since S3 bills their parts and never shows them as objects.
 */
export function bucketLifecycle(trackingLogsRetentionDays: number): BucketLifecycleConfiguration {
  if (!Number.isInteger(trackingLogsRetentionDays) || trackingLogsRetentionDays < 1)
    throw new Error(`The tracking logs retention must be a whole number of days, at least 1 (got ${trackingLogsRetentionDays}).`)
  return {
    Rules: [
      {
        ID: TRACKING_LOGS_RULE_ID,
        Status: 'Enabled',
        Filter: { Prefix: 'tracking-logs/' },
        Expiration: { Days: trackingLogsRetentionDays },
      },
      {
        ID: ABORT_UPLOADS_RULE_ID,
        Status: 'Enabled',
        Filter: { Prefix: '' },
        AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 },
      },
    ],
  }
}

export interface IamPolicyStatement {
  Sid: string
  Effect: 'Allow'
  Action: string[]
  Resource: string[]
}

export interface IamPolicyDocument {
  Version: '2012-10-17'
  Statement: IamPolicyStatement[]
}

export const BUCKET_ACTIONS = ['s3:ListBucket', 's3:GetBucketLocation', 's3:ListBucketMultipartUploads'] as const
export const OBJECT_ACTIONS = [
  's3:GetObject',
  's3:PutObject',
  's3:DeleteObject',
  's3:GetObjectAcl',
  's3:PutObjectAcl',
  's3:AbortMultipartUpload',
  's3:ListMultipartUploadParts',
] as const

/** The ARN partition of an AWS region: S3 ARNs in China and GovCloud differ, and a wrong one matches nothing. */
export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn'
  if (region.startsWith('us-gov-')) return 'aws-us-gov'
  return 'aws'
}

/**
 * The inline policy of a bucket's own IAM user: that bucket and its objects, nothing else. The name is checked
 * first, because a name such as "*" would turn the policy into access to every bucket.
 */
export function bucketPolicy(bucket: string, partition = 'aws'): IamPolicyDocument {
  const problems = bucketNameProblems(bucket)
  if (problems.length > 0) throw new Error(`No policy for bucket ${JSON.stringify(bucket)}: ${problems.join(' ')}`)
  if (!/^aws(-[a-z]+)*$/.test(partition))
    throw new Error(`${JSON.stringify(partition)} is not an AWS partition (aws, aws-cn, aws-us-gov…).`)
  const arn = `arn:${partition}:s3:::${bucket}`
  return {
    Version: '2012-10-17',
    Statement: [
      { Sid: 'TenonBucket', Effect: 'Allow', Action: [...BUCKET_ACTIONS], Resource: [arn] },
      { Sid: 'TenonObjects', Effect: 'Allow', Action: [...OBJECT_ACTIONS], Resource: [`${arn}/*`] },
    ],
  }
}
