import { describe, expect, it } from 'vitest'
import {
  ABORT_UPLOADS_RULE_ID,
  bucketCors,
  bucketLifecycle,
  bucketNameProblems,
  bucketPolicy,
  iamUserNameProblems,
  partitionOf,
  TRACKING_LOGS_RULE_ID,
} from '@/provisioners/s3-documents'

/** mulberry32: a seeded generator, so a failing name can be reproduced. */
function seeded(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789'
const INNER = `${ALNUM}-`

/** Random names that keep every rule: 3–63 characters, [a-z0-9-], alphanumeric at both ends, no reserved affix. */
function randomBucketNames(count: number, seed = 20261126): string[] {
  const random = seeded(seed)
  const pick = (alphabet: string) => alphabet[Math.floor(random() * alphabet.length)] ?? 'a'
  const names: string[] = []
  while (names.length < count) {
    const length = 3 + Math.floor(random() * 61)
    let name = pick(ALNUM)
    for (let i = 1; i < length - 1; i++) name += pick(INNER)
    name += pick(ALNUM)
    if (/^(xn--|sthree-|amzn-s3-demo-)|(-s3alias|--ol-s3|--x-s3|--table-s3)$/.test(name)) continue
    names.push(name)
  }
  return names
}

describe('bucketNameProblems', () => {
  it.each([
    ['abc'],
    ['tenon-redwood-academy-a2b3c4'],
    ['a'.repeat(63)],
    ['0-9'],
    ['123456789'],
    ['my--bucket'],
    ['xn-ok'],
    ['bucket-s3alias-not-at-end'],
  ])('accepts %s', (name) => {
    expect(bucketNameProblems(name)).toEqual([])
  })

  it.each([
    ['', /3 to 63 characters long; this one has 0/],
    ['ab', /3 to 63 characters long; this one has 2/],
    ['a'.repeat(64), /3 to 63 characters long; this one has 64/],
    ['Tenon-bucket', /only lowercase letters, digits and hyphens.*"T"/],
    ['tenon_bucket', /only lowercase letters, digits and hyphens.*"_"/],
    ['tenon.bucket', /dots are refused too.*"\."/],
    ['tenon bucket', /only lowercase letters.*" "/],
    ['-tenon', /must start with a lowercase letter or a digit/],
    ['tenon-', /must end with a lowercase letter or a digit/],
    ['192.168.5.4', /must not look like an IP address/],
    ['xn--tenon', /must not start with "xn--"/],
    ['sthree-tenon', /must not start with "sthree-"/],
    ['amzn-s3-demo-tenon', /must not start with "amzn-s3-demo-"/],
    ['tenon-s3alias', /must not end with "-s3alias"/],
    ['tenon--ol-s3', /must not end with "--ol-s3"/],
    ['tenon.mrap', /must not end with "\.mrap"/],
    ['tenon--x-s3', /must not end with "--x-s3"/],
    ['tenon--table-s3', /must not end with "--table-s3"/],
  ])('refuses %j', (name, problem) => {
    const problems = bucketNameProblems(name)
    expect(problems.some((p) => problem.test(p))).toBe(true)
    for (const p of problems) expect(p).toMatch(/^A bucket name .*\.$/)
  })

  it('names every problem of a name that breaks several rules', () => {
    expect(bucketNameProblems('-Xn')).toHaveLength(2)
    expect(bucketNameProblems('.x')).toHaveLength(3)
  })
})

describe('iamUserNameProblems', () => {
  it.each([['tenon-redwood-a2b3c4'], ['a'], ['a'.repeat(64)]])('accepts %s', (name) => {
    expect(iamUserNameProblems(name)).toEqual([])
  })

  it.each([
    ['', /1 to 64 characters/],
    ['a'.repeat(65), /1 to 64 characters/],
    ['Tenon', /only lowercase letters, digits and hyphens.*"T"/],
    ['tenon@example', /"@"/],
  ])('refuses %j', (name, problem) => {
    expect(iamUserNameProblems(name).some((p) => problem.test(p))).toBe(true)
  })
})

describe('bucketCors', () => {
  it("allows the platform's browser uploads from the given origins", () => {
    expect(bucketCors(['https://lms.example.com', 'https://studio.example.com'])).toEqual({
      CORSRules: [
        {
          AllowedMethods: ['GET', 'PUT', 'POST', 'HEAD'],
          AllowedOrigins: ['https://lms.example.com', 'https://studio.example.com'],
          AllowedHeaders: ['*'],
          ExposeHeaders: ['ETag'],
          MaxAgeSeconds: 3000,
        },
      ],
    })
  })

  it('accepts ports, http://localhost, and drops repeated origins', () => {
    expect(
      bucketCors(['https://lms.example.com:8443', 'http://localhost:3000', 'http://localhost', 'http://localhost:3000']).CORSRules?.[0]
        ?.AllowedOrigins,
    ).toEqual(['https://lms.example.com:8443', 'http://localhost:3000', 'http://localhost'])
  })

  it.each([
    [[], /at least one origin/],
    [['http://lms.example.com'], /only https:\/\/ origins/],
    [['http://127.0.0.1:3000'], /only https:\/\/ origins/],
    [['ftp://lms.example.com'], /only https:\/\/ origins/],
    [['https://lms.example.com/'], /without path, query or trailing slash \(e\.g\. https:\/\/lms\.example\.com\)/],
    [['https://lms.example.com/courses'], /without path/],
    [['*'], /not a URL/],
    [['lms.example.com'], /not a URL/],
    [['https://ok.example.com', 'http://bad.example.com'], /"http:\/\/bad\.example\.com"/],
  ])('refuses %j', (origins, message) => {
    expect(() => bucketCors(origins)).toThrow(message)
  })
})

describe('bucketLifecycle', () => {
  it('expires tracking logs after the retention and aborts unfinished uploads after 7 days', () => {
    expect(bucketLifecycle(90)).toEqual({
      Rules: [
        { ID: TRACKING_LOGS_RULE_ID, Status: 'Enabled', Filter: { Prefix: 'tracking-logs/' }, Expiration: { Days: 90 } },
        {
          ID: ABORT_UPLOADS_RULE_ID,
          Status: 'Enabled',
          Filter: { Prefix: '' },
          AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 },
        },
      ],
    })
    expect(TRACKING_LOGS_RULE_ID).toBe('tenon-tracking-logs')
    expect(bucketLifecycle(1).Rules?.[0]?.Expiration).toEqual({ Days: 1 })
  })

  it.each([[0], [-3], [1.5], [Number.NaN]])('refuses a retention of %s days', (days) => {
    expect(() => bucketLifecycle(days)).toThrow(/whole number of days, at least 1/)
  })
})

describe('partitionOf', () => {
  it.each([
    ['us-east-1', 'aws'],
    ['eu-west-3', 'aws'],
    ['cn-north-1', 'aws-cn'],
    ['us-gov-west-1', 'aws-us-gov'],
  ])('%s is in %s', (region, partition) => {
    expect(partitionOf(region)).toBe(partition)
  })
})

describe('bucketPolicy', () => {
  it('opens one bucket and its objects to the listed actions', () => {
    expect(bucketPolicy('tenon-redwood-a2b3c4')).toMatchInlineSnapshot(`
      {
        "Statement": [
          {
            "Action": [
              "s3:ListBucket",
              "s3:GetBucketLocation",
              "s3:ListBucketMultipartUploads",
            ],
            "Effect": "Allow",
            "Resource": [
              "arn:aws:s3:::tenon-redwood-a2b3c4",
            ],
            "Sid": "TenonBucket",
          },
          {
            "Action": [
              "s3:GetObject",
              "s3:PutObject",
              "s3:DeleteObject",
              "s3:GetObjectAcl",
              "s3:PutObjectAcl",
              "s3:AbortMultipartUpload",
              "s3:ListMultipartUploadParts",
            ],
            "Effect": "Allow",
            "Resource": [
              "arn:aws:s3:::tenon-redwood-a2b3c4/*",
            ],
            "Sid": "TenonObjects",
          },
        ],
        "Version": "2012-10-17",
      }
    `)
  })

  it('uses the partition in every ARN', () => {
    const policy = bucketPolicy('tenon-redwood-a2b3c4', 'aws-cn')
    expect(policy.Statement.flatMap((s) => s.Resource)).toEqual([
      'arn:aws-cn:s3:::tenon-redwood-a2b3c4',
      'arn:aws-cn:s3:::tenon-redwood-a2b3c4/*',
    ])
  })

  it.each([['*'], ['tenon-*'], ['tenon.bucket'], ['']])('refuses to write a policy for bucket %j', (bucket) => {
    expect(() => bucketPolicy(bucket)).toThrow(/No policy for bucket/)
  })

  it('refuses a partition that is not one', () => {
    expect(() => bucketPolicy('tenon-ok', 'aws:s3:::*')).toThrow(/not an AWS partition/)
  })

  it('names exactly its bucket and no wildcard action, for many random valid names', () => {
    const names = randomBucketNames(500)
    for (const bucket of names) {
      expect(bucketNameProblems(bucket), bucket).toEqual([])
      const policy = bucketPolicy(bucket)
      expect(policy.Version).toBe('2012-10-17')
      expect(policy.Statement.length).toBeGreaterThan(0)
      for (const statement of policy.Statement) {
        expect(statement.Effect).toBe('Allow')
        for (const resource of statement.Resource) expect([`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`]).toContain(resource)
        for (const action of statement.Action) {
          expect(action).toMatch(/^s3:[A-Za-z]+$/)
          expect(action).not.toContain('*')
        }
      }
      // The document stays valid JSON that names the bucket and nothing broader.
      const text = JSON.stringify(policy)
      expect(JSON.parse(text)).toEqual(policy)
      expect(
        text.match(/arn:aws:s3:::[^"]*/g)?.every((arn) => arn === `arn:aws:s3:::${bucket}` || arn === `arn:aws:s3:::${bucket}/*`),
      ).toBe(true)
    }
  })
})
