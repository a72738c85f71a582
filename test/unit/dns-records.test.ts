import { describe, expect, it } from 'vitest'
import { desiredRecordSets, planRecords, relativeName } from '@/lib/dns/plan-records'
import { normaliseCustomHostname, verificationDelayMs } from '@/lib/domains/hostname'

describe('hosting-zone records', () => {
  const hostnames = ['acme.hosting.example', 'studio.acme.hosting.example', 'learn.acme.com']

  it('names relative to the zone; hostnames outside it get no record', () => {
    expect(relativeName('Studio.acme.hosting.example.', 'hosting.example')).toBe('studio.acme')
    expect(relativeName('hosting.example', 'hosting.example')).toBe('@')
    expect(relativeName('learn.acme.com', 'hosting.example')).toBeNull()
    expect(desiredRecordSets(hostnames, 'hosting.example', ['2001:db8::2', '192.0.2.1', '192.0.2.1'], 300)).toEqual([
      { name: 'acme', type: 'A', ttl: 300, values: ['192.0.2.1'] },
      { name: 'acme', type: 'AAAA', ttl: 300, values: ['2001:db8::2'] },
      { name: 'studio.acme', type: 'A', ttl: 300, values: ['192.0.2.1'] },
      { name: 'studio.acme', type: 'AAAA', ttl: 300, values: ['2001:db8::2'] },
    ])
  })

  it('writes only what differs from the ledger, and removes what is no longer wanted', () => {
    const desired = desiredRecordSets(hostnames, 'hosting.example', ['192.0.2.1', '192.0.2.2'], 300)
    const synced = desired.map((d) => ({ ...d, state: 'synced' as const }))
    expect(planRecords(desired, synced)).toEqual({ write: [], remove: [] })
    // a load balancer added: every set is replaced (one request each), none removed
    const more = desiredRecordSets(hostnames, 'hosting.example', ['192.0.2.1', '192.0.2.2', '192.0.2.3'], 300)
    expect(planRecords(more, synced).write).toHaveLength(2)
    // a failed write is tried again; an IPv6 set no longer wanted is removed
    const ledger = [
      { ...synced[0]!, state: 'failed' as const },
      synced[1]!,
      { name: 'acme', type: 'AAAA', ttl: 300, values: ['2001:db8::1'], state: 'synced' as const },
    ]
    expect(planRecords(desired, ledger)).toEqual({ write: [desired[0]], remove: [{ name: 'acme', type: 'AAAA' }] })
    // archived: everything goes
    expect(planRecords([], synced).remove).toHaveLength(2)
  })
})

describe('custom hostnames', () => {
  it('are normalised, and refused with a reason when unusable', () => {
    expect(normaliseCustomHostname(' Learn.Example.COM. ', 'hosting.example')).toEqual({ hostname: 'learn.example.com' })
    expect(normaliseCustomHostname('bücher.example', 'hosting.example')).toEqual({ hostname: 'xn--bcher-kva.example' })
    for (const bad of [
      '',
      '*.example.com',
      'https://learn.example.com',
      '192.0.2.1',
      'localhost',
      'a..b',
      '-a.example',
      'x.acme.hosting.example',
      'hosting.example',
    ])
      expect(normaliseCustomHostname(bad, 'hosting.example')).toHaveProperty('error')
  })

  it('are checked quickly at first, then hourly', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 20].map(verificationDelayMs)).toEqual([
      0, 60_000, 120_000, 300_000, 600_000, 1_800_000, 3_600_000, 3_600_000,
    ])
  })
})
