import { describe, expect, it } from 'vitest'
import {
  agentReport,
  backoffDelay,
  EMPTY_ROUTING,
  nextExpiry,
  nextIndex,
  parseRoutingTree,
  servedState,
  type KvEntry,
  type ParsedInstanceCache,
} from '@/lb-agent/agent'
import type { RoutedCertificate, RoutedChallenge, RoutedInstance, RoutingState } from '@/provisioners/consul/layout'

const prefix = 'tenon'
const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64')

const instance = (id: string, over: Partial<RoutedInstance> = {}): RoutedInstance => ({
  instanceId: id,
  slug: `site-${id}`,
  revision: 3,
  hostnames: [`${id}.hosting.test`],
  backends: [{ appserverId: `as-${id}`, host: '10.0.0.5', port: 8000, role: 'active' }],
  healthPath: '/heartbeat',
  maintenance: false,
  certificates: [],
  ...over,
})

const revisionEntry = (revision: number, publishedAt = '2025-01-02T03:04:05.000Z'): KvEntry => ({
  Key: `${prefix}/routing/revision`,
  Value: b64({ revision, publishedAt }),
})
const instanceEntry = (id: string, value: unknown): KvEntry => ({ Key: `${prefix}/routing/instances/${id}`, Value: b64(value) })
const certificate = (id: string, over: Partial<RoutedCertificate> = {}): RoutedCertificate => ({
  id,
  revision: 2,
  certificate: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n',
  keyCiphertext: 'v1.k1.iv.tag.SECRETDATA',
  fingerprint: 'ab'.repeat(32),
  notAfter: '2027-01-01T00:00:00.000Z',
  ...over,
})
const challenge = (token: string, over: Partial<RoutedChallenge> = {}): RoutedChallenge => ({
  token,
  revision: 2,
  keyAuthorization: `${token}.thumbprint`,
  hostname: 'a.hosting.test',
  expiresAt: '2025-01-02T04:00:00.000Z',
  ...over,
})
const certificateEntry = (id: string, value: unknown): KvEntry => ({ Key: `${prefix}/routing/certificates/${id}`, Value: b64(value) })
const challengeEntry = (token: string, value: unknown): KvEntry => ({ Key: `${prefix}/routing/challenges/${token}`, Value: b64(value) })
const TOKEN_A = 'tokenA-0123456789ab'
const TOKEN_B = 'tokenB-0123456789ab'

describe('parseRoutingTree', () => {
  it('reads the revision and every instance, sorted by id, ignoring keys it does not know', () => {
    const parsed = parseRoutingTree(prefix, [
      instanceEntry('b', instance('b')),
      revisionEntry(7),
      instanceEntry('a', instance('a')),
      { Key: `${prefix}/routing/something-later`, Value: b64('whatever') },
      { Key: `${prefix}/routing/instances/`, Value: null },
    ])
    expect(parsed).toEqual({
      ok: true,
      state: {
        revision: 7,
        publishedAt: '2025-01-02T03:04:05.000Z',
        instances: [instance('a'), instance('b')],
        certificates: [],
        challenges: [],
      },
    })
  })

  it('reads certificates and challenges, sorted, with the instances that use them', () => {
    const a = instance('a', { certificates: [{ id: 'c1', hostnames: ['a.hosting.test'] }] })
    const parsed = parseRoutingTree(prefix, [
      revisionEntry(7),
      certificateEntry('c2', certificate('c2')),
      certificateEntry('c1', certificate('c1')),
      challengeEntry(TOKEN_B, challenge(TOKEN_B)),
      challengeEntry(TOKEN_A, challenge(TOKEN_A)),
      instanceEntry('a', a),
      { Key: `${prefix}/routing/certificates/`, Value: null },
      { Key: `${prefix}/routing/later/x`, Value: b64('whatever') },
    ])
    expect(parsed).toEqual({
      ok: true,
      state: {
        revision: 7,
        publishedAt: '2025-01-02T03:04:05.000Z',
        instances: [a],
        certificates: [certificate('c1'), certificate('c2')],
        challenges: [challenge(TOKEN_A), challenge(TOKEN_B)],
      },
    })
  })

  it('refuses the revision for a certificate or challenge that fails its schema or sits under another key, never quoting values', () => {
    const bad = parseRoutingTree(prefix, [revisionEntry(3), certificateEntry('c1', { ...certificate('c1'), fingerprint: 'SECRETDATA' })])
    expect(bad).toMatchObject({
      ok: false,
      revision: 3,
      error: expect.stringMatching(/^routing revision 3 refused: certificate c1: fingerprint: /),
    })
    expect(bad.ok === false && bad.error).not.toContain('SECRETDATA')
    const moved = parseRoutingTree(prefix, [revisionEntry(3), certificateEntry('c1', certificate('c2'))])
    expect(moved).toMatchObject({ ok: false, error: expect.stringContaining('certificate c1: its value is that of certificate c2') })
    const badChallenge = parseRoutingTree(prefix, [
      revisionEntry(3),
      challengeEntry(TOKEN_A, { ...challenge(TOKEN_A), keyAuthorization: 'a b' }),
    ])
    expect(badChallenge).toMatchObject({ ok: false, error: expect.stringContaining(`challenge ${TOKEN_A}: keyAuthorization: `) })
    const movedChallenge = parseRoutingTree(prefix, [revisionEntry(3), challengeEntry(TOKEN_A, challenge(TOKEN_B))])
    expect(movedChallenge).toMatchObject({
      ok: false,
      error: expect.stringContaining(`challenge ${TOKEN_A}: its value is that of challenge ${TOKEN_B}`),
    })
  })

  it('refuses an instance using a certificate the tree does not hold, naming both', () => {
    const parsed = parseRoutingTree(prefix, [
      revisionEntry(5),
      certificateEntry('c1', certificate('c1')),
      instanceEntry('a', instance('a', { certificates: [{ id: 'c9', hostnames: ['a.hosting.test'] }] })),
    ])
    expect(parsed).toEqual({
      ok: false,
      revision: 5,
      error: 'routing revision 5 refused: instance a: certificate c9 is not under routing/certificates/',
    })
  })

  it('gives the empty state, revision 0, for no keys at all (Consul answered 404)', () => {
    expect(parseRoutingTree(prefix, null)).toEqual({ ok: true, state: EMPTY_ROUTING })
    expect(parseRoutingTree(prefix, [])).toEqual({ ok: true, state: EMPTY_ROUTING })
  })

  it('fills in defaults the schema defines (certificates) for instances written before they existed', () => {
    const { certificates: _, ...old } = instance('a')
    const parsed = parseRoutingTree(prefix, [revisionEntry(2), instanceEntry('a', old)])
    expect(parsed.ok && parsed.state.instances[0]?.certificates).toEqual([])
  })

  it('refuses the whole revision when one instance fails its schema, naming the instance and the field', () => {
    const parsed = parseRoutingTree(prefix, [
      revisionEntry(9),
      instanceEntry('good', instance('good')),
      instanceEntry('bad', { ...instance('bad'), backends: [{ appserverId: 'x', host: 'h', port: 'eighty', role: 'active' }] }),
    ])
    expect(parsed.ok).toBe(false)
    if (parsed.ok) return
    expect(parsed.revision).toBe(9)
    expect(parsed.error).toMatch(/^routing revision 9 refused: instance bad: backends\.0\.port: /)
  })

  it('refuses values that are not JSON, empty values, and an instance stored under another id', () => {
    const notJson = parseRoutingTree(prefix, [revisionEntry(4), { Key: `${prefix}/routing/instances/x`, Value: b64('{oops') }])
    expect(notJson).toMatchObject({ ok: false, revision: 4, error: expect.stringContaining('instance x: value:') })
    const empty = parseRoutingTree(prefix, [revisionEntry(4), { Key: `${prefix}/routing/instances/x`, Value: null }])
    expect(empty).toMatchObject({ ok: false, revision: 4 })
    const moved = parseRoutingTree(prefix, [revisionEntry(4), instanceEntry('x', instance('y'))])
    expect(moved).toMatchObject({ ok: false, error: expect.stringContaining('instance x: its value is that of instance y') })
  })

  it('refuses a revision key it cannot read, without claiming a revision number', () => {
    const parsed = parseRoutingTree(prefix, [{ Key: `${prefix}/routing/revision`, Value: b64({ revision: -1 }) }])
    expect(parsed).toMatchObject({ ok: false, revision: undefined, error: expect.stringContaining('routing revision ? refused') })
  })

  it('lists at most three problems and counts the rest', () => {
    const entries = [revisionEntry(1), ...['a', 'b', 'c', 'd', 'e'].map((id) => instanceEntry(id, { instanceId: id }))]
    const parsed = parseRoutingTree(prefix, entries)
    expect(parsed.ok === false && parsed.error).toMatch(/\(and 2 more\)$/)
  })
})

describe('nextIndex (Consul blocking-query rules)', () => {
  it('follows the index forward', () => {
    expect(nextIndex(0, 12)).toBe(12)
    expect(nextIndex(12, 12)).toBe(12)
    expect(nextIndex(12, 40)).toBe(40)
  })
  it('starts over from 0 when the index goes backwards', () => {
    expect(nextIndex(40, 12)).toBe(0)
  })
  it('never waits on an index below 1 (a missing or zero header)', () => {
    expect(nextIndex(0, 0)).toBe(1)
    expect(nextIndex(12, Number.NaN)).toBe(1)
    expect(nextIndex(12, -3)).toBe(1)
  })
})

describe('backoffDelay', () => {
  const options = { initialMs: 500, maxMs: 30_000 }
  it('doubles its ceiling with each attempt and stays between half and all of it', () => {
    expect([1, 2, 3, 4].map((a) => backoffDelay(a, options, () => 1))).toEqual([500, 1000, 2000, 4000])
    expect([1, 2, 3, 4].map((a) => backoffDelay(a, options, () => 0))).toEqual([250, 500, 1000, 2000])
  })
  it('is capped, however many attempts failed', () => {
    expect(backoffDelay(7, options, () => 1)).toBe(30_000)
    expect(backoffDelay(10_000, options, () => 1)).toBe(30_000)
    expect(backoffDelay(10_000, options, () => 0)).toBe(15_000)
  })
  it('spreads agents that failed together (jitter)', () => {
    const delays = new Set(Array.from({ length: 20 }, () => backoffDelay(5, options)))
    expect(delays.size).toBeGreaterThan(1)
    for (const d of delays) expect(d).toBeGreaterThanOrEqual(4000)
  })
})

describe('agentReport', () => {
  const state: RoutingState = { ...EMPTY_ROUTING, revision: 5, publishedAt: '2025-01-02T03:04:05.000Z' }
  const at = new Date('2025-01-02T03:04:05.250Z')
  const now = new Date('2025-01-02T03:05:00.000Z')

  it('before anything applied: revision 0, no lag, method none', () => {
    expect(agentReport({ node: 'lb-1', applied: undefined, lastError: null, seenRevision: 0, now })).toEqual({
      node: 'lb-1',
      revision: 0,
      appliedAt: null,
      lagMs: null,
      method: 'none',
      lastError: null,
      lastErrorAt: null,
      lastSeen: now.toISOString(),
      seenRevision: 0,
      publicAddresses: [],
    })
  })

  it('carries the public addresses the node is reached at', () => {
    const report = agentReport({
      node: 'lb-1',
      applied: undefined,
      lastError: null,
      seenRevision: 0,
      now,
      publicAddresses: ['203.0.113.7', '2001:db8::7'],
    })
    expect(report.publicAddresses).toEqual(['203.0.113.7', '2001:db8::7'])
  })

  it('the lag is appliedAt minus the publishedAt of the applied revision', () => {
    const report = agentReport({ node: 'lb-1', applied: { state, method: 'runtime', at }, lastError: null, seenRevision: 5, now })
    expect(report).toMatchObject({ revision: 5, appliedAt: at.toISOString(), lagMs: 250, method: 'runtime', seenRevision: 5 })
    const unpublished = agentReport({
      node: 'lb-1',
      applied: { state: EMPTY_ROUTING, method: 'reload', at },
      lastError: null,
      seenRevision: 0,
      now,
    })
    expect(unpublished.lagMs).toBeNull()
  })

  it('a refused revision: the error, when, and a seenRevision ahead of the applied one', () => {
    const error = { message: 'routing revision 6 refused: …', at: now }
    const report = agentReport({ node: 'lb-1', applied: { state, method: 'reload', at }, lastError: error, seenRevision: 6, now })
    expect(report).toMatchObject({ revision: 5, seenRevision: 6, lastError: error.message, lastErrorAt: now.toISOString() })
  })
})

describe('parseRoutingTree with a cache of parsed instances', () => {
  it('reuses an instance whose ModifyIndex did not change, parses one that did, and forgets deleted ones', () => {
    const cache: ParsedInstanceCache = new Map()
    const key = (id: string) => `${prefix}/routing/instances/${id}`
    const first = parseRoutingTree(
      prefix,
      [
        revisionEntry(1),
        { ...instanceEntry('a', instance('a')), ModifyIndex: 10 },
        { ...instanceEntry('b', instance('b')), ModifyIndex: 11 },
      ],
      cache,
    )
    expect(first.ok).toBe(true)
    const a1 = cache.get(key('a'))?.instance
    // The same index for a, a new one for b (whose value changed): a is the very same object, b is parsed again.
    const changed = { ...instance('b'), maintenance: true }
    const second = parseRoutingTree(
      prefix,
      [revisionEntry(2), { ...instanceEntry('a', instance('a')), ModifyIndex: 10 }, { ...instanceEntry('b', changed), ModifyIndex: 12 }],
      cache,
    )
    expect(second.ok && second.state.instances[0]).toBe(a1)
    expect(second.ok && second.state.instances[1]?.maintenance).toBe(true)
    // b deleted: dropped from the cache too.
    parseRoutingTree(prefix, [revisionEntry(3), { ...instanceEntry('a', instance('a')), ModifyIndex: 10 }], cache)
    expect([...cache.keys()]).toEqual([key('a')])
  })
})

describe('servedState', () => {
  const state: RoutingState = {
    ...EMPTY_ROUTING,
    revision: 4,
    challenges: [
      challenge(TOKEN_A, { expiresAt: '2025-01-02T04:00:00.000Z' }),
      challenge(TOKEN_B, { expiresAt: '2025-01-02T05:00:00.000Z' }),
    ],
  }

  it('serves challenges until they expire, and says when the next one does', () => {
    expect(servedState(state, new Date('2025-01-02T03:59:59.999Z'))).toBe(state)
    expect(nextExpiry(state)).toBe(Date.parse('2025-01-02T04:00:00.000Z'))
    const later = servedState(state, new Date('2025-01-02T04:00:00.000Z'))
    expect(later.challenges.map((c) => c.token)).toEqual([TOKEN_B])
    expect(nextExpiry(later)).toBe(Date.parse('2025-01-02T05:00:00.000Z'))
    expect(servedState(state, new Date('2025-01-03T00:00:00.000Z')).challenges).toEqual([])
    expect(nextExpiry(EMPTY_ROUTING)).toBeUndefined()
  })
})
