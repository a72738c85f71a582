import { describe, expect, it } from 'vitest'
import { RenderError, renderHaproxy, type RenderOptions } from '@/lb-agent/render'
import type { RoutedInstance, RoutingState } from '@/provisioners/consul/layout'

const OPTIONS: RenderOptions = {
  nodeName: 'lb-1',
  bindAddress: '0.0.0.0',
  httpPort: 80,
  configDir: '/etc/tenon-lb',
  statsSocket: '/run/tenon-lb/admin.sock',
}

function instance(id: string, overrides: Partial<RoutedInstance> = {}): RoutedInstance {
  return {
    instanceId: id,
    slug: `slug-${id}`,
    revision: 1,
    hostnames: [`${id}.hosting.test`, `studio.${id}.hosting.test`],
    backends: [{ appserverId: `${id}-a1`, host: '10.0.0.1', port: 8000, role: 'active' }],
    healthPath: '/heartbeat',
    maintenance: false,
    certificates: [],
    ...overrides,
  }
}

const state = (instances: RoutedInstance[], revision = 7): RoutingState => ({
  revision,
  publishedAt: '2026-01-01T00:00:00.000Z',
  instances,
})

const SAMPLE = state([
  instance('redwood', {
    backends: [
      { appserverId: 'redwood-b', host: '10.0.0.12', port: 8000, role: 'active' },
      { appserverId: 'redwood-a', host: '10.0.0.11', port: 8000, role: 'draining' },
    ],
  }),
  instance('acme', { hostnames: ['Courses.ACME.example', 'acme.hosting.test'], backends: [], maintenance: true }),
  instance('v6', {
    hostnames: [],
    backends: [{ appserverId: 'v6-a', host: 'fd00::5', port: 8080, role: 'active' }],
    healthPath: '/health?full=1',
  }),
  instance('named', { backends: [{ appserverId: 'named-a', host: 'app-1.internal', port: 8000, role: 'active' }] }),
])

function refusal(fn: () => unknown): RenderError {
  try {
    fn()
  } catch (err) {
    if (err instanceof RenderError) return err
    throw err
  }
  throw new Error('expected a RenderError')
}

describe('renderHaproxy', () => {
  it('renders the configuration, the hosts map and the pages (snapshot)', () => {
    const rendered = renderHaproxy(SAMPLE, OPTIONS)
    expect(rendered.config).toMatchSnapshot('haproxy.cfg')
    expect(rendered.hostsMap).toMatchSnapshot('hosts.map')
    expect(Object.keys(rendered.files).sort()).toEqual(['crt-list.txt', 'maintenance.html', 'maintenance.http', 'unknown-host.html'])
    // HAProxy's own 503 (every appserver down) is the same page, as a whole HTTP response with the right length.
    const response = rendered.files['maintenance.http']!
    expect(response).toMatch(/^HTTP\/1\.0 503 Service Unavailable\r\n/)
    expect(response.split('\r\n\r\n')[1]).toBe(rendered.files['maintenance.html'])
    expect(response).toContain(`Content-Length: ${Buffer.byteLength(rendered.files['maintenance.html']!)}\r\n`)
    expect(rendered.files['maintenance.html']).toContain('This site is being updated')
    expect(rendered.files['maintenance.html']).toContain('temporarily unavailable')
    expect(rendered.files['unknown-host.html']).toContain('No site is configured for this address')
  })

  it('is deterministic: the order of instances, backends and hostnames does not matter', () => {
    const shuffled = state(
      [...SAMPLE.instances].reverse().map((i) => ({
        ...i,
        backends: [...i.backends].reverse(),
        hostnames: i.hostnames.length ? [i.hostnames[0] ?? '', ...i.hostnames.slice(1).reverse()] : [],
      })),
    )
    expect(renderHaproxy(shuffled, OPTIONS)).toEqual(renderHaproxy(SAMPLE, OPTIONS))
  })

  it('routes each hostname (lower case, once) to its backend, or to the maintenance page without an active backend', () => {
    const rendered = renderHaproxy(
      state([
        instance('a', { hostnames: ['A.test', 'a.test', 'www.a.test'] }),
        instance('b', { hostnames: ['b.test'], backends: [{ appserverId: 'b1', host: '10.0.0.2', port: 80, role: 'draining' }] }),
        instance('c', { hostnames: ['c.test'], maintenance: true }),
      ]),
      OPTIONS,
    )
    expect(rendered.hostsMap).toBe('a.test be_a\nb.test be_maintenance\nc.test be_maintenance\nwww.a.test be_a\n')
    // the backend of an instance in maintenance stays, so leaving maintenance is a map change, not a reload
    expect(rendered.config).toContain('backend be_c\n')
    expect(rendered.config).toContain('  server as_b1 10.0.0.2:80 check inter 2000 fall 3 rise 2 weight 0\n')
  })

  it('checks health with GET on the health path and the Host of the first hostname', () => {
    const { config } = renderHaproxy(state([instance('a', { hostnames: ['lms.a.test', 'studio.a.test'] })]), OPTIONS)
    expect(config).toContain('  http-check send meth GET uri /heartbeat ver HTTP/1.1 hdr Host lms.a.test\n  http-check expect status 200\n')
  })

  it('uses the given timings, socket and directory', () => {
    const { config } = renderHaproxy(state([instance('a')]), {
      ...OPTIONS,
      bindAddress: '::',
      httpPort: 8080,
      configDir: '/srv/lb/',
      healthCheck: { interMs: 1500, rise: 4 },
      timeouts: { serverMs: 90_000, connectMs: 250 },
    })
    expect(config).toContain('  bind [::]:8080\n')
    expect(config).toContain('map(/srv/lb/hosts.map,be_unknown)')
    expect(config).toContain('file /srv/lb/maintenance.html')
    expect(config).toContain('check inter 1500 fall 3 rise 4 weight 100')
    expect(config).toContain('  timeout server 90s\n')
    expect(config).toContain('  timeout connect 250ms\n')
  })

  it('drops privileges, shares the admin socket with a group and logs to syslog when asked (as the Ansible role runs it)', () => {
    const { config } = renderHaproxy(state([instance('a')]), {
      ...OPTIONS,
      runAs: { user: 'haproxy', group: 'haproxy' },
      statsSocketGroup: 'tenon-lb',
      syslog: '/dev/log',
    })
    expect(config).toContain(
      'global\n  node lb-1\n  log /dev/log local0\n  user haproxy\n  group haproxy\n  stats socket /run/tenon-lb/admin.sock mode 660 group tenon-lb level admin expose-fd listeners\n',
    )
    expect(config).toContain('defaults\n  mode http\n  log global\n  option httplog\n  option dontlognull\n')
    expect(refusal(() => renderHaproxy(state([]), { ...OPTIONS, statsSocketGroup: 'lb admin' })).message).toMatch(/statsSocketGroup/)
    expect(refusal(() => renderHaproxy(state([]), { ...OPTIONS, syslog: '/dev/log local7' })).message).toMatch(/syslog/)
  })

  it.each([
    ['a hostname with a space', instance('bad', { hostnames: ['evil.test use_backend x'] }), /instance bad: hostname/],
    ['a hostname with a line break', instance('bad', { hostnames: ['a.test\nbackend x'] }), /instance bad: hostname/],
    ['a hostname with a #', instance('bad', { hostnames: ['a#b.test'] }), /instance bad: hostname/],
    ['a health path with a space', instance('bad', { healthPath: '/heartbeat x' }), /instance bad: health path/],
    ['a health path with a quote', instance('bad', { healthPath: '/heart"beat' }), /instance bad: health path/],
    ['a health path with a line break', instance('bad', { healthPath: '/h\n  server x 1.2.3.4:80' }), /instance bad: health path/],
    ['an instance id with a space', instance('bad id'), /instance id "bad id"/],
    [
      'an appserver id with a slash',
      instance('bad', { backends: [{ appserverId: 'a/b', host: '10.0.0.1', port: 80, role: 'active' }] }),
      /instance bad: appserver id/,
    ],
    [
      'a host with a space',
      instance('bad', { backends: [{ appserverId: 'a', host: '10.0.0.1 backup', port: 80, role: 'active' }] }),
      /instance bad: appserver a has an invalid host/,
    ],
    [
      'an appserver twice',
      instance('bad', {
        backends: [
          { appserverId: 'a', host: '10.0.0.1', port: 80, role: 'active' },
          { appserverId: 'a', host: '10.0.0.2', port: 80, role: 'active' },
        ],
      }),
      /instance bad: appserver a appears twice/,
    ],
  ])('refuses %s, naming the instance', (_case, bad, message) => {
    const err = refusal(() => renderHaproxy(state([instance('good'), bad]), OPTIONS))
    expect(err.message).toMatch(message)
    expect(err.instanceId).toBe(bad.instanceId)
  })

  it('refuses a hostname routed to two instances and an instance listed twice', () => {
    const twice = refusal(() =>
      renderHaproxy(state([instance('a', { hostnames: ['x.test'] }), instance('b', { hostnames: ['X.test'] })]), OPTIONS),
    )
    expect(twice.message).toBe('instance b: hostname x.test is also routed to instance a')
    expect(refusal(() => renderHaproxy(state([instance('a'), instance('a')]), OPTIONS)).message).toMatch(/instance a appears twice/)
  })

  it('refuses options that would break the configuration', () => {
    expect(refusal(() => renderHaproxy(state([]), { ...OPTIONS, bindAddress: 'localhost' })).message).toMatch(/bind address/)
    expect(refusal(() => renderHaproxy(state([]), { ...OPTIONS, configDir: 'relative/dir' })).message).toMatch(/configDir/)
    expect(refusal(() => renderHaproxy(state([]), { ...OPTIONS, nodeName: 'lb 1' })).message).toMatch(/node name/)
    expect(refusal(() => renderHaproxy(state([]), { ...OPTIONS, healthCheck: { fall: 0 } })).message).toMatch(/fall/)
  })

  it('renders 10,000 instances', () => {
    const instances = Array.from({ length: 10_000 }, (_, n) =>
      instance(`i${String(n).padStart(5, '0')}`, {
        backends: [
          { appserverId: `a${n}`, host: `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`, port: 8000, role: 'active' },
          { appserverId: `b${n}`, host: `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`, port: 8001, role: 'draining' },
        ],
      }),
    )
    const rendered = renderHaproxy(state(instances), OPTIONS)
    expect(rendered.config.match(/^backend be_i\d{5}$/gm)).toHaveLength(10_000)
    expect(rendered.config.match(/^ {2}server /gm)).toHaveLength(20_000)
    expect(rendered.hostsMap.split('\n').filter(Boolean)).toHaveLength(20_000)
  })

  it('lists each instance certificate with its hostnames as SNI filters, and serves HTTPS only once there is one (snapshot)', () => {
    const none = renderHaproxy(state([instance('a')]), { ...OPTIONS, httpsPort: 8443 })
    expect(none.files['crt-list.txt']).toBe('')
    expect(none.config).not.toContain('fe_https')
    const withCerts = renderHaproxy(
      state([
        instance('b', { hostnames: ['b.test', 'Studio.B.test'], certificates: ['wildcard-hosting', 'b-custom'] }),
        instance('a', { certificates: ['wildcard-hosting'] }),
      ]),
      { ...OPTIONS, httpsPort: 8443 },
    )
    expect(withCerts.files['crt-list.txt']).toMatchSnapshot('crt-list.txt')
    expect(withCerts.config).toContain(`ssl crt-list ${OPTIONS.configDir}/crt-list.txt alpn h2,http/1.1`)
    expect(() => renderHaproxy(state([instance('c', { certificates: ['../etc/passwd'] })]), OPTIONS)).toThrow(/certificate reference/)
  })
})
