import { describe, expect, it } from 'vitest'
import { desiredRouting, type RoutingAppserver } from '@/lib/routing/desired-routing'
import { nodeStatus } from '@/lib/routing/list-load-balancers'
import { hostPort, type RoutedInstance } from '@/provisioners/consul/layout'
import { planConsulDrift } from '@/provisioners/consul/plan-drift'
import { routedInstance } from '@/provisioners/consul/router'
import type { LoadBalancerNode } from '@/provisioners/types'

const instance = (id: string, over: Partial<RoutedInstance> = {}): RoutedInstance => ({
  instanceId: id,
  slug: `site-${id}`,
  revision: 3,
  hostnames: [`site-${id}.hosting.test`],
  backends: [{ appserverId: `as-${id}`, host: '10.0.0.1', port: 8000, role: 'active' }],
  healthPath: '/heartbeat',
  maintenance: false,
  certificates: [],
  ...over,
})
const serviceId = (appserverId: string) => `tenon-as-${appserverId}`

describe('hostPort', () => {
  it.each([
    ['http://10.0.0.5:8080', { host: '10.0.0.5', port: 8080 }],
    ['http://127.0.0.1', { host: '127.0.0.1', port: 80 }],
    ['https://app.internal', { host: 'app.internal', port: 443 }],
    ['http://[fd00::1]:9000', { host: 'fd00::1', port: 9000 }],
  ])('%s → %o', (address, expected) => expect(hostPort(address)).toEqual(expected))
})

describe('routedInstance', () => {
  it('splits addresses and carries the revision', () => {
    expect(
      routedInstance(
        {
          instanceId: 'i1',
          slug: 'one',
          hostnames: ['one.hosting.test'],
          backends: [{ appserverId: 'a1', address: 'http://127.0.0.1:4000', role: 'draining' }],
          healthPath: '/heartbeat',
          maintenance: true,
          certificates: [],
        },
        7,
      ),
    ).toEqual({
      instanceId: 'i1',
      slug: 'one',
      revision: 7,
      hostnames: ['one.hosting.test'],
      backends: [{ appserverId: 'a1', host: '127.0.0.1', port: 4000, role: 'draining' }],
      healthPath: '/heartbeat',
      maintenance: true,
      certificates: [],
    })
  })
})

describe('routedInstance with certificates', () => {
  it('copies which certificate serves which hostnames, in a stable order', () => {
    const routed = routedInstance(
      {
        instanceId: 'i1',
        slug: 'one',
        hostnames: ['one.hosting.test', 'studio.one.hosting.test', 'courses.example.org'],
        backends: [],
        healthPath: '/heartbeat',
        maintenance: true,
        certificates: [
          { id: 'custom-1', hostnames: ['courses.example.org'] },
          { id: 'wildcard', hostnames: ['studio.one.hosting.test', 'one.hosting.test'] },
        ],
      },
      7,
    )
    expect(routed.certificates).toEqual([
      { id: 'custom-1', hostnames: ['courses.example.org'] },
      { id: 'wildcard', hostnames: ['one.hosting.test', 'studio.one.hosting.test'] },
    ])
  })
})

describe('planConsulDrift', () => {
  const registered = new Set(['tenon-as-as-a', 'tenon-as-as-b'])

  it('does nothing when Consul holds the desired routing (revisions aside) and every service', () => {
    expect(planConsulDrift([instance('a'), instance('b')], [instance('a', { revision: 9 }), instance('b')], registered, serviceId)).toEqual(
      {
        write: [],
        remove: [],
        missingServices: [],
      },
    )
  })

  it('writes missing and different entries, removes entries nobody wants, re-registers missing services', () => {
    const desired = [instance('a'), instance('b', { maintenance: true, backends: [] }), instance('c')]
    const actual = [instance('a'), instance('b'), instance('z')]
    expect(planConsulDrift(desired, actual, new Set(['tenon-as-as-b']), serviceId)).toEqual({
      write: ['b', 'c'],
      remove: ['z'],
      missingServices: ['a'],
    })
  })
})

describe('nodeStatus', () => {
  const now = Date.parse('2026-11-26T10:00:00Z')
  const node = (over: Partial<LoadBalancerNode> = {}): LoadBalancerNode => ({
    node: 'lb-1',
    revision: 10,
    seenRevision: 10,
    appliedAt: '2026-11-26T09:59:59Z',
    lagMs: 120,
    method: 'runtime',
    lastError: null,
    lastErrorAt: null,
    lastSeen: '2026-11-26T09:59:59Z',
    publicAddresses: [],
    ...over,
  })
  it.each<[string, Partial<LoadBalancerNode>, number | null, string]>([
    ['in sync', {}, 10, 'in-sync'],
    ['no revision published yet', { revision: 0, seenRevision: 0 }, null, 'in-sync'],
    ['behind', { revision: 9 }, 10, 'behind'],
    ['refusing the latest change', { revision: 9, seenRevision: 10, lastError: 'invalid' }, 10, 'error'],
    ['silent too long', { lastSeen: '2026-11-26T09:58:00Z' }, 10, 'down'],
  ])('%s', (_name, over, latest, expected) => expect(nodeStatus(node(over), latest, now, 60_000)).toBe(expected))
})

describe('desired routing as Consul stores it', () => {
  const site = {
    id: '0195c0de-0000-7000-8000-000000000001',
    slug: 'redwood',
    hostnames: ['redwood.hosting.test', 'studio.redwood.hosting.test'],
    healthPath: '/heartbeat',
    archived: false,
  }
  const appserver = (
    n: number,
    state: RoutingAppserver['state'],
    deploymentStatus: RoutingAppserver['deploymentStatus'],
  ): RoutingAppserver => ({
    id: `0195c0de-0000-7000-8000-00000000010${n}`,
    state,
    address: `http://10.0.0.${n}:8000`,
    deploymentStatus,
  })

  it('a blue/green switch in progress: the new appservers take requests, the old one drains (snapshot)', () => {
    const routing = desiredRouting(site, [
      appserver(1, 'active', 'active'),
      appserver(2, 'healthy', 'activating'),
      appserver(3, 'healthy', 'activating'),
    ])
    expect(routedInstance(routing, 12)).toMatchSnapshot()
  })

  it('nothing healthy: the maintenance page (snapshot)', () => {
    expect(routedInstance(desiredRouting(site, [appserver(1, 'draining', 'superseded')]), 13)).toMatchSnapshot()
  })

  it('computes the routing of 10,000 instances (every backend valid for Consul)', () => {
    const routed = Array.from({ length: 10_000 }, (_, i) =>
      routedInstance(
        desiredRouting({ ...site, id: `i-${i}`, slug: `site-${i}`, hostnames: [`site-${i}.hosting.test`] }, [
          { ...appserver(1, 'active', 'active'), id: `a-${i}`, address: `http://10.${(i >> 8) & 255}.${i & 255}.1:8000` },
        ]),
        i + 1,
      ),
    )
    expect(routed).toHaveLength(10_000)
    expect(routed.every((r) => r.backends.length === 1 && !r.maintenance)).toBe(true)
  })
})
