import { describe, expect, it } from 'vitest'
import { RenderError, renderHaproxy, type RenderOptions } from '@/lb-agent/render'
import type { RoutedCertificate, RoutedChallenge, RoutedInstance, RoutingState } from '@/provisioners/consul/layout'

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

const state = (
  instances: RoutedInstance[],
  revision = 7,
  more: Partial<Pick<RoutingState, 'certificates' | 'challenges'>> = {},
): RoutingState => ({
  revision,
  publishedAt: '2026-01-01T00:00:00.000Z',
  instances,
  certificates: [],
  challenges: [],
  ...more,
})

/** A certificate as Consul holds it (the PEM is only armour here: the render does not parse it). */
const certificate = (id: string): RoutedCertificate => ({
  id,
  revision: 1,
  certificate: `-----BEGIN CERTIFICATE-----\r\nLEAF${id}\r\n-----END CERTIFICATE-----\r\n\r\n-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n`,
  keyCiphertext: 'v1.k1.iv.tag.data',
  fingerprint: 'ab'.repeat(32),
  notAfter: '2027-01-01T00:00:00.000Z',
})
const keyOf = (id: string) => `-----BEGIN PRIVATE KEY-----\nKEY${id}\n-----END PRIVATE KEY-----\n`
const keys = (...ids: string[]) => new Map(ids.map((id) => [id, keyOf(id)]))
const challenge = (token: string, over: Partial<RoutedChallenge> = {}): RoutedChallenge => ({
  token,
  revision: 1,
  keyAuthorization: `${token}.thumbprint_-1`,
  hostname: 'a.test',
  expiresAt: '2027-01-01T00:00:00.000Z',
  ...over,
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
    expect(Object.keys(rendered.files).sort()).toEqual([
      'challenges.map',
      'crt-list.txt',
      'maintenance.html',
      'maintenance.http',
      'unknown-host.html',
    ])
    expect(rendered.certificates).toEqual({})
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

  it('lists each certificate once, its SNI filters the hostnames the instances gave it, and serves HTTPS only then', () => {
    const none = renderHaproxy(state([instance('a')]), { ...OPTIONS, httpsPort: 8443 })
    expect(none.files['crt-list.txt']).toBe('')
    expect(none.config).not.toContain('fe_https')
    const withCerts = renderHaproxy(
      state(
        [
          instance('b', {
            hostnames: ['b.test', 'Studio.B.test', 'plain.b.test'],
            certificates: [
              { id: 'wildcard-hosting', hostnames: ['b.test'] },
              { id: 'b-custom', hostnames: ['STUDIO.b.test'] },
            ],
          }),
          instance('a', { certificates: [{ id: 'wildcard-hosting', hostnames: ['studio.a.hosting.test', 'a.hosting.test'] }] }),
        ],
        7,
        { certificates: [certificate('wildcard-hosting'), certificate('b-custom'), certificate('unused')] },
      ),
      { ...OPTIONS, httpsPort: 8443 },
      keys('wildcard-hosting', 'b-custom', 'unused'),
    )
    expect(withCerts.files['crt-list.txt']).toBe(
      '/etc/tenon-lb/certs/b-custom.pem studio.b.test\n' +
        '/etc/tenon-lb/certs/wildcard-hosting.pem a.hosting.test b.test studio.a.hosting.test\n',
    )
    expect(withCerts.config).toContain(`ssl crt-list ${OPTIONS.configDir}/crt-list.txt alpn h2,http/1.1`)
    // Only the certificates an instance uses are written: an unused private key stays off the disk.
    expect(Object.keys(withCerts.certificates).sort()).toEqual(['b-custom.pem', 'wildcard-hosting.pem'])
  })

  it('writes each certificate file as its key then its chain, without carriage returns or empty lines', () => {
    const rendered = renderHaproxy(
      state([instance('a', { certificates: [{ id: 'c1', hostnames: ['a.hosting.test'] }] })], 7, { certificates: [certificate('c1')] }),
      OPTIONS,
      keys('c1'),
    )
    expect(rendered.certificates['c1.pem']).toBe(
      [
        '-----BEGIN PRIVATE KEY-----',
        'KEYc1',
        '-----END PRIVATE KEY-----',
        '-----BEGIN CERTIFICATE-----',
        'LEAFc1',
        '-----END CERTIFICATE-----',
        '-----BEGIN CERTIFICATE-----',
        'CA',
        '-----END CERTIFICATE-----',
        '',
      ].join('\n'),
    )
    // The key is in no other file.
    for (const content of [rendered.config, rendered.hostsMap, ...Object.values(rendered.files)]) expect(content).not.toContain('KEYc1')
  })

  it.each([
    [
      'a certificate for a hostname the instance does not route',
      instance('bad', { certificates: [{ id: 'c1', hostnames: ['elsewhere.test'] }] }),
      /instance bad: certificate c1 is for "elsewhere.test", which the instance does not route/,
    ],
    [
      'a hostname with two certificates',
      instance('bad', {
        certificates: [
          { id: 'c1', hostnames: ['bad.hosting.test'] },
          { id: 'c2', hostnames: ['BAD.hosting.test'] },
        ],
      }),
      /instance bad: hostname bad\.hosting\.test has two certificates, c1 and c2/,
    ],
    [
      'a certificate id that is not a file name',
      instance('bad', { certificates: [{ id: '../etc/passwd', hostnames: ['bad.hosting.test'] }] }),
      /instance bad: certificate id "..\/etc\/passwd"/,
    ],
    [
      'a certificate the state does not hold',
      instance('bad', { certificates: [{ id: 'missing', hostnames: ['bad.hosting.test'] }] }),
      /instance bad: certificate missing is not in the routing state/,
    ],
  ])('refuses %s, naming the instance', (_case, bad, message) => {
    const err = refusal(() =>
      renderHaproxy(state([instance('good'), bad], 7, { certificates: [certificate('c1'), certificate('c2')] }), OPTIONS, keys('c1', 'c2')),
    )
    expect(err.message).toMatch(message)
    expect(err.instanceId).toBe('bad')
  })

  it('refuses a certificate without its private key, or with something else than PEM', () => {
    const used = state([instance('a', { certificates: [{ id: 'c1', hostnames: ['a.hosting.test'] }] })], 7, {
      certificates: [certificate('c1')],
    })
    expect(refusal(() => renderHaproxy(used, OPTIONS)).message).toBe('certificate c1: its private key is missing')
    expect(refusal(() => renderHaproxy(used, OPTIONS, new Map([['c1', 'not a key']]))).message).toMatch(/not a PEM private key/)
    const noChain = { ...used, certificates: [{ ...certificate('c1'), certificate: 'junk' }] }
    expect(refusal(() => renderHaproxy(noChain, OPTIONS, keys('c1'))).message).toMatch(/does not start with a PEM certificate/)
  })

  it('answers HTTP-01 challenges from challenges.map before routing, on both frontends, whatever the Host', () => {
    const rendered = renderHaproxy(
      state([instance('a', { certificates: [{ id: 'c1', hostnames: ['a.hosting.test'] }] })], 7, {
        certificates: [certificate('c1')],
        challenges: [challenge('tokenB_0123456789abc'), challenge('tokenA_0123456789abc', { hostname: 'not-routed.example' })],
      }),
      { ...OPTIONS, httpsPort: 443 },
      keys('c1'),
    )
    expect(rendered.files['challenges.map']).toBe(
      '/.well-known/acme-challenge/tokenA_0123456789abc tokenA_0123456789abc.thumbprint_-1\n' +
        '/.well-known/acme-challenge/tokenB_0123456789abc tokenB_0123456789abc.thumbprint_-1\n',
    )
    const rule =
      '  http-request return status 200 content-type text/plain lf-string %[path,map(/etc/tenon-lb/challenges.map)] hdr cache-control no-store' +
      ' if { path_beg /.well-known/acme-challenge/ } { path,map(/etc/tenon-lb/challenges.map) -m found }\n'
    expect(rendered.config).toContain(`frontend fe_http\n  bind 0.0.0.0:80\n${rule}  use_backend`)
    expect(rendered.config.split(rule)).toHaveLength(3)
    // No challenge: an empty map (runtime `add map` needs the file loaded), the rule stays.
    const none = renderHaproxy(state([]), OPTIONS)
    expect(none.files['challenges.map']).toBe('')
    expect(none.config).toContain(rule)
  })

  it('refuses a challenge whose token or key authorization could break the map', () => {
    expect(refusal(() => renderHaproxy(state([], 7, { challenges: [challenge('short')] }), OPTIONS)).message).toMatch(/token/)
    const spaced = challenge('tokenA_0123456789abc', { keyAuthorization: 'a.b c' })
    expect(refusal(() => renderHaproxy(state([], 7, { challenges: [spaced] }), OPTIONS)).message).toMatch(/key authorization/)
  })
})
