import { describe, expect, it } from 'vitest'
import type { AppserverState, DeploymentStatus } from '@/lib/db/generated/enums'
import { desiredRouting, type RoutingAppserver } from '@/lib/routing/desired-routing'

const INSTANCE = {
  id: 'inst-1',
  slug: 'redwood-academy',
  hostnames: ['redwood-academy.hosting.test', 'studio.redwood-academy.hosting.test'],
  healthPath: '/heartbeat',
  archived: false,
}

const a = (
  id: string,
  state: AppserverState,
  deploymentStatus: DeploymentStatus,
  address: string | null = `http://${id}:80`,
): RoutingAppserver => ({
  id,
  state,
  deploymentStatus,
  address,
})

const routing = (appservers: RoutingAppserver[], instance: Parameters<typeof desiredRouting>[0] = INSTANCE) =>
  desiredRouting(instance, appservers)
const roles = (appservers: RoutingAppserver[], instance = INSTANCE) =>
  routing(appservers, instance).backends.map((b) => `${b.appserverId}:${b.role}`)

describe('desiredRouting: steady state (nothing activating)', () => {
  it("the active deployment's appservers take the traffic", () => {
    expect(routing([a('a1', 'active', 'active'), a('a2', 'active', 'active')])).toEqual({
      instanceId: 'inst-1',
      slug: 'redwood-academy',
      hostnames: INSTANCE.hostnames,
      healthPath: '/heartbeat',
      backends: [
        { appserverId: 'a1', address: 'http://a1:80', role: 'active' },
        { appserverId: 'a2', address: 'http://a2:80', role: 'active' },
      ],
      maintenance: false,
      certificates: [],
    })
  })

  it('carries the certificate references of a live instance, none once archived', () => {
    const certificates = [{ id: 'c1', hostnames: [INSTANCE.hostnames[0]!] }]
    expect(routing([a('a1', 'active', 'active')], { ...INSTANCE, certificates }).certificates).toEqual(certificates)
    expect(routing([a('a1', 'active', 'active')], { ...INSTANCE, certificates, archived: true }).certificates).toEqual([])
  })

  it('replaced appservers drain until their grace ends; inactive ones get nothing', () => {
    expect(roles([a('b1', 'active', 'active'), a('a1', 'draining', 'superseded'), a('z1', 'inactive', 'superseded')])).toEqual([
      'b1:active',
      'a1:draining',
    ])
  })

  it('a building deployment gets no traffic, healthy or not', () => {
    for (const s of ['new', 'provisioning', 'configuring', 'starting', 'healthy', 'failed'] as const) {
      expect(roles([a('old', 'active', 'active'), a('new', s, 'building')])).toEqual(['old:active'])
    }
  })

  it('appservers on their way out, or without an address, get nothing', () => {
    const out = [a('t1', 'terminating', 'failed'), a('t2', 'terminated', 'terminated'), a('f', 'failed', 'failed')]
    expect(roles([a('x', 'active', 'active', null), ...out])).toEqual([])
  })

  it('no active backend: maintenance, even while others drain', () => {
    expect(routing([]).maintenance).toBe(true)
    const draining = routing([a('a1', 'draining', 'superseded')])
    expect(draining.backends).toEqual([{ appserverId: 'a1', address: 'http://a1:80', role: 'draining' }])
    expect(draining.maintenance).toBe(true)
  })
})

describe('desiredRouting: while a deployment is activating', () => {
  it("the activating deployment's healthy appservers take new requests; the current active ones drain", () => {
    const r = routing([
      a('old1', 'active', 'active'),
      a('old2', 'active', 'active'),
      a('new1', 'healthy', 'activating'),
      a('new2', 'healthy', 'activating'),
    ])
    expect(r.backends).toEqual([
      { appserverId: 'new1', address: 'http://new1:80', role: 'active' },
      { appserverId: 'new2', address: 'http://new2:80', role: 'active' },
      { appserverId: 'old1', address: 'http://old1:80', role: 'draining' },
      { appserverId: 'old2', address: 'http://old2:80', role: 'draining' },
    ])
    expect(r.maintenance).toBe(false)
  })

  it('the switch itself changes nothing: routing before and after the activation commits is the same', () => {
    const before = routing([a('old', 'active', 'active'), a('new', 'healthy', 'activating')])
    const after = routing([a('old', 'draining', 'superseded'), a('new', 'active', 'active')])
    expect(after).toEqual(before)
    expect(before.backends.map((b) => `${b.appserverId}:${b.role}`)).toEqual(['new:active', 'old:draining'])
  })

  it('a rollback: the kept deployment comes back, the current one drains, older inactive ones stay out', () => {
    expect(roles([a('cur', 'active', 'active'), a('kept', 'healthy', 'activating'), a('older', 'inactive', 'superseded')])).toEqual([
      'kept:active',
      'cur:draining',
    ])
  })

  it('an activating appserver not (yet) healthy gets no traffic', () => {
    expect(roles([a('cur', 'active', 'active'), a('n', 'starting', 'activating')])).toEqual(['cur:draining'])
    expect(routing([a('n', 'starting', 'activating')]).maintenance).toBe(true)
  })

  it('the first deployment of an instance: its healthy appservers go live, nothing drains', () => {
    expect(roles([a('n1', 'healthy', 'activating')])).toEqual(['n1:active'])
  })
})

describe('desiredRouting: maintenance', () => {
  it('an archived instance routes nowhere, whatever its appservers', () => {
    const r = routing([a('a1', 'active', 'active'), a('a2', 'draining', 'superseded')], { ...INSTANCE, archived: true })
    expect(r.backends).toEqual([])
    expect(r.maintenance).toBe(true)
    expect(r.hostnames).toEqual(INSTANCE.hostnames)
  })

  it('orders backends active first, then by appserver id, whatever the input order', () => {
    expect(
      roles([a('d2', 'draining', 'superseded'), a('c', 'active', 'active'), a('d1', 'draining', 'superseded'), a('b', 'active', 'active')]),
    ).toEqual(['b:active', 'c:active', 'd1:draining', 'd2:draining'])
  })
})
