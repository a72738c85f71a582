import { describe, expect, it } from 'vitest'
import { certificateRefs, type ServedCertificate } from '@/lib/certificates/certificate-refs'
import { afterFailure, canTransition, CERTIFICATE_TRANSITIONS, orderStart } from '@/lib/certificates/certificate-states'
import { alertDue, nextAttemptDelayMs, renewalTime, unitInterval } from '@/lib/certificates/renewal-schedule'

const DAY = 86_400_000

describe('the certificate state machine', () => {
  it('orders start only from states without an order in progress', () => {
    expect(orderStart('pending')).toBe('issuing')
    expect(orderStart('failed')).toBe('issuing')
    expect(orderStart('valid')).toBe('renewing')
    expect(orderStart('expired')).toBe('renewing')
    expect(orderStart('issuing')).toBeNull()
    expect(orderStart('renewing')).toBeNull()
    for (const [from, to] of [
      ['pending', 'issuing'],
      ['valid', 'renewing'],
      ['expired', 'renewing'],
    ] as const)
      expect(canTransition(from, to)).toBe(true)
  })

  it('a failed renewal keeps the served certificate; a failed first issuance waits or gives up', () => {
    expect(afterFailure('valid', true)).toBe('valid')
    expect(afterFailure('renewing', false)).toBe('valid')
    expect(afterFailure('expired', true)).toBe('expired')
    expect(afterFailure('pending', false)).toBe('pending')
    expect(afterFailure('issuing', true)).toBe('failed')
    for (const [from, tos] of Object.entries(CERTIFICATE_TRANSITIONS)) for (const to of tos) expect(to).not.toBe(from)
  })
})

describe('renewal timing', () => {
  const cert = { id: 'c1', serial: '0a', notBefore: new Date('2026-01-01T00:00:00Z'), notAfter: new Date('2026-04-01T00:00:00Z') }

  it('without ARI: from 30 days before expiry, jittered by at most a fifth of that, the same every time', () => {
    const at = renewalTime(cert, { renewDays: 30 })
    const start = cert.notAfter.getTime() - 30 * DAY
    expect(at.getTime()).toBeGreaterThanOrEqual(start)
    expect(at.getTime()).toBeLessThan(start + 6 * DAY)
    expect(renewalTime(cert, { renewDays: 30 }).getTime()).toBe(at.getTime())
  })

  it('spreads many certificates issued together over the jitter window', () => {
    const times = Array.from({ length: 1000 }, (_, i) => renewalTime({ ...cert, id: `c${i}` }, { renewDays: 30 }).getTime())
    const days = new Set(times.map((t) => Math.floor(t / DAY)))
    expect(days.size).toBeGreaterThanOrEqual(6)
  })

  it('with ARI: a point inside the suggested window', () => {
    const window = { start: new Date('2026-02-10T00:00:00Z'), end: new Date('2026-02-12T00:00:00Z') }
    const at = renewalTime(cert, { renewDays: 30, window })
    expect(at >= window.start && at <= window.end).toBe(true)
  })

  it('short-lived certificates renew once two thirds of their life are gone', () => {
    const short = { ...cert, notAfter: new Date(cert.notBefore.getTime() + 6 * DAY) }
    const at = renewalTime(short, { renewDays: 30 })
    expect(at.getTime()).toBeGreaterThanOrEqual(cert.notBefore.getTime() + 4 * DAY)
  })

  it('backs off exponentially, capped, honouring Retry-After', () => {
    expect(nextAttemptDelayMs(1)).toBe(5 * 60_000)
    expect(nextAttemptDelayMs(3)).toBe(20 * 60_000)
    expect(nextAttemptDelayMs(30)).toBe(12 * 3_600_000)
    expect(nextAttemptDelayMs(1, 3_600_000)).toBe(3_600_000)
    expect(unitInterval('a')).toBeGreaterThanOrEqual(0)
  })

  it('alerts when a failure repeats or expiry is near', () => {
    const now = new Date('2026-03-20T00:00:00Z')
    expect(alertDue({ notAfter: cert.notAfter, attempts: 1, now, alertDays: 14 })).toBe(true)
    expect(alertDue({ notAfter: cert.notAfter, attempts: 1, now: new Date('2026-03-01T00:00:00Z'), alertDays: 14 })).toBe(false)
    expect(alertDue({ notAfter: null, attempts: 3, now, alertDays: 14 })).toBe(true)
  })
})

describe('which certificate serves which hostname', () => {
  const zone: ServedCertificate = {
    id: 'zone',
    hostnames: ['hosting.example', '*.hosting.example'],
    scope: 'zone',
    notAfter: new Date('2027-01-01'),
  }
  const own: ServedCertificate = {
    id: 'own',
    hostnames: ['acme.hosting.example', '*.acme.hosting.example'],
    scope: 'instance',
    notAfter: new Date('2026-12-30'),
  }
  const custom: ServedCertificate = { id: 'custom', hostnames: ['learn.acme.com'], scope: 'custom', notAfter: new Date('2027-02-01') }
  const hostnames = ['acme.hosting.example', 'studio.acme.hosting.example', 'learn.acme.com', 'shop.acme.com']

  it('before the instance has its own: the zone wildcard serves the main hostname only', () => {
    expect(certificateRefs(hostnames, [zone])).toEqual([{ id: 'zone', hostnames: ['acme.hosting.example'] }])
  })

  it('the most specific certificate wins; hostnames nothing covers are left out', () => {
    expect(certificateRefs(hostnames, [zone, own, custom])).toEqual([
      { id: 'custom', hostnames: ['learn.acme.com'] },
      { id: 'own', hostnames: ['acme.hosting.example', 'studio.acme.hosting.example'] },
    ])
  })
})
