import { describe, expect, it } from 'vitest'
import { bytesToBase64 } from '@/components/base64'
import { nextRefreshAt } from '@/components/next-refresh'
import { relativeTime } from '@/components/relative-time'
import type { TCertificateSummary, TDomain, TInstanceDomains } from '@/lib/domains/schemas'

const NOW = Date.parse('2026-11-26T12:00:00.000Z')
const at = (seconds: number) => new Date(NOW + seconds * 1000).toISOString()

describe('relativeTime', () => {
  it.each([
    [0, 'just now'],
    [0.4, 'just now'],
    [40, 'in 40 s'],
    [-40, '40 s ago'],
    [59, 'in 59 s'],
    [60, 'in 1 min'],
    [-12 * 60 - 30, '12 min ago'],
    [3599, 'in 59 min'],
    [3600, 'in 1 h'],
    [-5 * 3600, '5 h ago'],
    // Up to two days in hours ("in 47 h" says more than "in 1 d" about a check or a renewal that close).
    [47 * 3600, 'in 47 h'],
    [48 * 3600, 'in 2 d'],
    [89 * 86_400 + 3600, 'in 89 d'],
    [-400 * 86_400, '400 d ago'],
  ])('%s s from now reads "%s"', (seconds, expected) => {
    expect(relativeTime(at(seconds), NOW)).toBe(expected)
  })

  it('takes a Date as well as an ISO string', () => {
    expect(relativeTime(new Date(NOW + 90_000), NOW)).toBe('in 1 min')
  })
})

describe('bytesToBase64', () => {
  it.each([0, 1, 2, 3, 100, 0x8000 - 1, 0x8000, 0x8000 + 1, 200_000])('encodes %s bytes as Node does', (length) => {
    const bytes = new Uint8Array(length)
    for (let i = 0; i < length; i++) bytes[i] = (i * 131 + 7) % 256
    expect(bytesToBase64(bytes)).toBe(Buffer.from(bytes).toString('base64'))
  })
})

describe('nextRefreshAt', () => {
  const T = (minutes: number) => at(minutes * 60)
  const certificate = (fields: Partial<TCertificateSummary>): TCertificateSummary => ({
    id: 'c1',
    source: 'acme',
    scope: 'custom',
    state: 'valid',
    hostnames: ['shop.example.test'],
    issuer: null,
    notAfter: null,
    fingerprint: null,
    lastAttemptAt: null,
    lastError: null,
    nextAttemptAt: null,
    renewAt: null,
    ...fields,
  })
  const domain = (fields: Partial<TDomain>): TDomain => ({
    id: 'd1',
    instanceId: 'i1',
    hostname: 'shop.example.test',
    state: 'verified',
    verificationExpiresAt: T(60 * 24 * 7),
    verifiedAt: null,
    lastCheckedAt: null,
    nextCheckAt: null,
    lastCheckError: null,
    pointsHere: null,
    acmeDelegated: false,
    records: [],
    certificate: null,
    createdAt: T(-10),
    ...fields,
  })
  const data = (
    domains: TDomain[],
    hostnameCertificates: (TCertificateSummary | null)[] = [],
  ): Pick<TInstanceDomains, 'domains' | 'hostnames'> => ({
    domains,
    hostnames: hostnameCertificates.map((c, i) => ({
      hostname: `h${i}.hosting.test`,
      role: 'lms',
      dnsState: 'unmanaged',
      dnsError: null,
      certificate: c,
    })),
  })

  it('is null when nothing is scheduled', () => {
    expect(nextRefreshAt(data([]))).toBeNull()
    expect(
      nextRefreshAt(data([domain({ verifiedAt: T(-5), certificate: certificate({ state: 'valid', renewAt: T(60 * 24 * 30) }) })], [null])),
    ).toBeNull()
    // Given up: a person must retry.
    expect(
      nextRefreshAt(data([domain({ verifiedAt: T(-5), certificate: certificate({ state: 'failed', lastAttemptAt: T(-4) }) })])),
    ).toBeNull()
  })

  it("is a pending domain's next check", () => {
    expect(nextRefreshAt(data([domain({ state: 'pending', nextCheckAt: T(2) })]))).toBe(T(2))
    // Expired and verified domains are not checked on their own.
    expect(nextRefreshAt(data([domain({ state: 'expired', nextCheckAt: null, lastCheckedAt: T(-1) })]))).toBeNull()
  })

  it("is a certificate's scheduled attempt, or when an order due now became due", () => {
    expect(
      nextRefreshAt(
        data([domain({ verifiedAt: T(-1), certificate: certificate({ state: 'pending', nextAttemptAt: T(5), lastAttemptAt: T(-1) }) })]),
      ),
    ).toBe(T(5))
    // Created when the domain was verified, not ordered yet: due since then.
    expect(nextRefreshAt(data([domain({ verifiedAt: T(-1), certificate: certificate({ state: 'pending' }) })]))).toBe(T(-1))
    // Being ordered: since the order started.
    expect(nextRefreshAt(data([domain({ verifiedAt: T(-3), certificate: certificate({ state: 'issuing', lastAttemptAt: T(-2) }) })]))).toBe(
      T(-2),
    )
    expect(nextRefreshAt(data([], [certificate({ scope: 'instance', state: 'renewing', lastAttemptAt: T(-1) })]))).toBe(T(-1))
    // An own hostname's certificate due with nothing to date it: not guessed.
    expect(nextRefreshAt(data([], [certificate({ scope: 'instance', state: 'pending' })]))).toBeNull()
  })

  it('is the soonest of all', () => {
    const domains = [
      domain({ id: 'a', state: 'pending', nextCheckAt: T(30) }),
      domain({ id: 'b', verifiedAt: T(-9), certificate: certificate({ state: 'pending', nextAttemptAt: T(4) }) }),
    ]
    expect(nextRefreshAt(data(domains, [certificate({ scope: 'instance', state: 'valid', nextAttemptAt: T(3) })]))).toBe(T(3))
    expect(nextRefreshAt(data(domains))).toBe(T(4))
  })
})
