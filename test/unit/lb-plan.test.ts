import { describe, expect, it } from 'vitest'
import { planChanges, type ApplyPlan, type PlanOptions } from '@/lb-agent/plan'
import { RenderError } from '@/lb-agent/render'
import type { RoutedBackend, RoutedCertificate, RoutedChallenge, RoutedInstance, RoutingState } from '@/provisioners/consul/layout'

const OPTIONS: PlanOptions = { configDir: '/etc/lb', healthCheck: { interMs: 1000, fall: 3, rise: 2 } }
const MAP = '/etc/lb/hosts.map'
const ARGS = 'check inter 1000 fall 3 rise 2'

const server = (appserverId: string, role: RoutedBackend['role'] = 'active', host = '10.0.0.1', port = 8000): RoutedBackend => ({
  appserverId,
  host,
  port,
  role,
})

function instance(id: string, overrides: Partial<RoutedInstance> = {}): RoutedInstance {
  return {
    instanceId: id,
    slug: id,
    revision: 1,
    hostnames: [`${id}.test`],
    backends: [server(`${id}1`)],
    healthPath: '/heartbeat',
    maintenance: false,
    certificates: [],
    ...overrides,
  }
}

const state = (...instances: RoutedInstance[]): RoutingState => ({
  revision: 1,
  publishedAt: null,
  instances,
  certificates: [],
  challenges: [],
})
const BASE = state(instance('a'), instance('b'))
/** BASE with instance a replaced. */
const withA = (overrides: Partial<RoutedInstance>) => state(instance('a', overrides), instance('b'))

const cases: [string, RoutingState | undefined, RoutingState, ApplyPlan][] = [
  ['nothing applied yet: reload', undefined, BASE, { kind: 'reload', reason: 'nothing applied yet' }],
  ['the same state: nothing', BASE, state(instance('b'), instance('a')), { kind: 'none' }],
  ['only revision and slug changed: nothing', BASE, { ...withA({ revision: 9, slug: 'renamed' }), revision: 9 }, { kind: 'none' }],
  ['an instance added: reload', BASE, state(instance('a'), instance('b'), instance('c')), { kind: 'reload', reason: 'instances added: c' }],
  ['an instance removed: reload', BASE, state(instance('a')), { kind: 'reload', reason: 'instances removed: b' }],
  [
    'health path changed: reload',
    BASE,
    withA({ healthPath: '/status' }),
    { kind: 'reload', reason: 'the health check of instance a changed' },
  ],
  [
    'first hostname (the Host of the health check) changed: reload',
    BASE,
    withA({ hostnames: ['www.a.test', 'a.test'] }),
    { kind: 'reload', reason: 'the health check of instance a changed' },
  ],
  [
    'the address of an appserver changed: reload',
    BASE,
    withA({ backends: [server('a1', 'active', '10.0.0.9')] }),
    { kind: 'reload', reason: 'the address of appserver a1 of instance a changed' },
  ],
  [
    'a new appserver with a DNS name: reload',
    BASE,
    withA({ backends: [server('a1'), server('a2', 'active', 'app-2.internal')] }),
    { kind: 'reload', reason: 'appserver a2 of instance a has a DNS name, resolved only on a reload' },
  ],
  [
    'hostname added: add map',
    BASE,
    withA({ hostnames: ['a.test', 'www.a.test'] }),
    { kind: 'runtime', commands: [`add map ${MAP} www.a.test be_a`] },
  ],
  [
    'hostname removed: del map',
    withA({ hostnames: ['a.test', 'www.a.test'] }),
    BASE,
    { kind: 'runtime', commands: [`del map ${MAP} www.a.test`] },
  ],
  [
    'hostname moved to another instance: set map',
    state(instance('a', { hostnames: ['a.test', 'shared.test'] }), instance('b')),
    state(instance('a'), instance('b', { hostnames: ['b.test', 'shared.test'] })),
    { kind: 'runtime', commands: [`set map ${MAP} shared.test be_b`] },
  ],
  [
    'maintenance on: hostnames point at the maintenance page',
    BASE,
    withA({ hostnames: ['a.test', 'www.a.test'], backends: [], maintenance: true }),
    {
      kind: 'runtime',
      commands: [
        `set map ${MAP} a.test be_maintenance`,
        `add map ${MAP} www.a.test be_maintenance`,
        'set server be_a/as_a1 state maint',
        'shutdown sessions server be_a/as_a1',
        'del server be_a/as_a1',
      ],
    },
  ],
  [
    'maintenance off: the server is added before the hostname points at it',
    withA({ backends: [], maintenance: true }),
    BASE,
    {
      kind: 'runtime',
      commands: [
        `add server be_a/as_a1 10.0.0.1:8000 ${ARGS} weight 100`,
        'enable health be_a/as_a1',
        'enable server be_a/as_a1',
        `set map ${MAP} a.test be_a`,
      ],
    },
  ],
  [
    'appserver added as active: add, enable health, enable',
    BASE,
    withA({ backends: [server('a1'), server('a2', 'active', '10.0.0.2', 9000)] }),
    {
      kind: 'runtime',
      commands: [`add server be_a/as_a2 10.0.0.2:9000 ${ARGS} weight 100`, 'enable health be_a/as_a2', 'enable server be_a/as_a2'],
    },
  ],
  [
    'IPv6 appserver added: bracketed address',
    BASE,
    withA({ backends: [server('a1'), server('a2', 'active', 'fd00::2')] }),
    {
      kind: 'runtime',
      commands: [`add server be_a/as_a2 [fd00::2]:8000 ${ARGS} weight 100`, 'enable health be_a/as_a2', 'enable server be_a/as_a2'],
    },
  ],
  [
    'active → draining while another takes over: drain',
    withA({ backends: [server('a1'), server('a2')] }),
    withA({ backends: [server('a1', 'draining'), server('a2')] }),
    { kind: 'runtime', commands: ['set server be_a/as_a1 state drain'] },
  ],
  [
    'the only server drains: maintenance page first, then drain',
    BASE,
    withA({ backends: [server('a1', 'draining')], maintenance: true }),
    { kind: 'runtime', commands: [`set map ${MAP} a.test be_maintenance`, 'set server be_a/as_a1 state drain'] },
  ],
  [
    'draining → active: weight back and ready (a server loaded as draining has weight 0)',
    withA({ backends: [server('a1', 'draining'), server('a2')] }),
    withA({ backends: [server('a1'), server('a2', 'draining')] }),
    {
      kind: 'runtime',
      commands: ['set server be_a/as_a1 weight 100', 'set server be_a/as_a1 state ready', 'set server be_a/as_a2 state drain'],
    },
  ],
  [
    'appserver removed: maint, shutdown sessions, del',
    withA({ backends: [server('a1'), server('a2', 'draining')] }),
    BASE,
    { kind: 'runtime', commands: ['set server be_a/as_a2 state maint', 'shutdown sessions server be_a/as_a2', 'del server be_a/as_a2'] },
  ],
  [
    'a deployment switch: new server in, old drains, in that order',
    BASE,
    withA({ backends: [server('a1', 'draining'), server('a2', 'active', '10.0.0.2')] }),
    {
      kind: 'runtime',
      commands: [
        `add server be_a/as_a2 10.0.0.2:8000 ${ARGS} weight 100`,
        'enable health be_a/as_a2',
        'enable server be_a/as_a2',
        'set server be_a/as_a1 state drain',
      ],
    },
  ],
  [
    'changes in several instances: grouped by kind, in instance order',
    BASE,
    state(
      instance('b', { backends: [server('b1', 'draining'), server('b2', 'active', '10.0.0.3')] }),
      instance('a', { backends: [server('a1', 'draining'), server('a2', 'active', '10.0.0.2')] }),
    ),
    {
      kind: 'runtime',
      commands: [
        `add server be_a/as_a2 10.0.0.2:8000 ${ARGS} weight 100`,
        'enable health be_a/as_a2',
        'enable server be_a/as_a2',
        `add server be_b/as_b2 10.0.0.3:8000 ${ARGS} weight 100`,
        'enable health be_b/as_b2',
        'enable server be_b/as_b2',
        'set server be_a/as_a1 state drain',
        'set server be_b/as_b1 state drain',
      ],
    },
  ],
]

// Certificates and challenges: HTTPS on, so the crt-list is live.
const TLS: PlanOptions = { ...OPTIONS, httpsPort: 8443 }
const CRT_LIST = '/etc/lb/crt-list.txt'
const CHALLENGES = '/etc/lb/challenges.map'
const file = (id: string) => `/etc/lb/certs/${id}.pem`

const certificate = (id: string, fingerprint = 'aa'): RoutedCertificate => ({
  id,
  revision: 1,
  certificate: `-----BEGIN CERTIFICATE-----\n${id}${fingerprint}\n-----END CERTIFICATE-----\n`,
  keyCiphertext: 'v1.k.iv.tag.data',
  fingerprint: fingerprint.repeat(32),
  notAfter: '2027-01-01T00:00:00.000Z',
})
const challenge = (token: string, keyAuthorization = `${token}.thumb`): RoutedChallenge => ({
  token,
  revision: 1,
  keyAuthorization,
  hostname: 'a.test',
  expiresAt: '2027-01-01T00:00:00.000Z',
})
/** Instance a with certificate references; b with `bCerts`; the certificates held; the challenges. */
function tls(aCerts: string[], certificates: RoutedCertificate[], more: { bCerts?: string[]; challenges?: RoutedChallenge[] } = {}) {
  const refs = (ids: string[], host: string) => ids.map((id) => ({ id, hostnames: [host] }))
  return {
    ...state(instance('a', { certificates: refs(aCerts, 'a.test') }), instance('b', { certificates: refs(more.bCerts ?? [], 'b.test') })),
    certificates,
    challenges: more.challenges ?? [],
  }
}
const installs = (id: string, sni: string) => [
  `new ssl cert ${file(id)}`,
  { command: `set ssl cert ${file(id)}`, certificate: id },
  `commit ssl cert ${file(id)}`,
  { command: `add ssl crt-list ${CRT_LIST}`, payload: `${file(id)} ${sni}` },
]

const tlsCases: [string, RoutingState, RoutingState, ApplyPlan][] = [
  [
    'the first certificate: reload (the HTTPS frontend does not exist yet)',
    tls([], []),
    tls(['c1'], [certificate('c1')]),
    { kind: 'reload', reason: 'the first certificate (c1): the HTTPS frontend starts' },
  ],
  [
    'a certificate nobody uses arrives: nothing for HAProxy',
    tls(['c1'], [certificate('c1')]),
    tls(['c1'], [certificate('c1'), certificate('c2')]),
    { kind: 'none' },
  ],
  [
    'renewal (same id, new content): set and commit, no reload',
    tls(['c1'], [certificate('c1')]),
    tls(['c1'], [certificate('c1', 'bb')]),
    { kind: 'runtime', commands: [{ command: `set ssl cert ${file('c1')}`, certificate: 'c1' }, `commit ssl cert ${file('c1')}`] },
  ],
  [
    'the same certificate with its key encrypted again: nothing',
    tls(['c1'], [certificate('c1')]),
    tls(['c1'], [{ ...certificate('c1'), keyCiphertext: 'v1.k.other.tag.data' }]),
    { kind: 'none' },
  ],
  [
    'a new certificate while HTTPS runs: created, filled, committed, then its crt-list line',
    tls(['c1'], [certificate('c1')]),
    tls(['c1'], [certificate('c1'), certificate('c2')], { bCerts: ['c2'] }),
    { kind: 'runtime', commands: installs('c2', 'b.test') },
  ],
  [
    'a certificate no longer used (not the default): crt-list line, then the certificate',
    tls(['c1'], [certificate('c1'), certificate('c2')], { bCerts: ['c2'] }),
    tls(['c1'], [certificate('c1'), certificate('c2')]),
    { kind: 'runtime', commands: [`del ssl crt-list ${CRT_LIST} ${file('c2')}`, `del ssl cert ${file('c2')}`] },
  ],
  [
    'the default certificate (first loaded) no longer used: reload',
    tls(['c1'], [certificate('c1'), certificate('c2')], { bCerts: ['c2'] }),
    tls([], [certificate('c1'), certificate('c2')], { bCerts: ['c2'] }),
    { kind: 'reload', reason: "certificate c1 is no longer used and is HAProxy's default certificate, which only a reload replaces" },
  ],
  [
    'the last certificate goes: reload (the HTTPS frontend stops)',
    tls(['c1'], [certificate('c1')]),
    tls([], []),
    { kind: 'reload', reason: 'no certificate is used any more: the HTTPS frontend stops' },
  ],
  [
    'a certificate given to another hostname (its SNI filters change): reload',
    tls(['c1'], [certificate('c1')]),
    tls(['c1'], [certificate('c1')], { bCerts: ['c1'] }),
    { kind: 'reload', reason: 'the hostnames certificate c1 serves (its SNI filters) changed' },
  ],
  [
    'a challenge added: add map, before anything else',
    tls(['c1'], [certificate('c1')]),
    tls(['c1'], [certificate('c1', 'bb')], { challenges: [challenge('tok_0123456789abcdef')] }),
    {
      kind: 'runtime',
      commands: [
        { command: `set ssl cert ${file('c1')}`, certificate: 'c1' },
        `commit ssl cert ${file('c1')}`,
        `add map ${CHALLENGES} /.well-known/acme-challenge/tok_0123456789abcdef tok_0123456789abcdef.thumb`,
      ],
    },
  ],
  [
    'a challenge answered differently: set map; one removed: del map, last',
    tls([], [], { challenges: [challenge('tok_0123456789abcdef'), challenge('old_0123456789abcdef')] }),
    {
      ...tls([], [], { challenges: [challenge('tok_0123456789abcdef', 'tok_0123456789abcdef.other')] }),
      instances: [instance('a', { backends: [server('a1', 'draining'), server('a2', 'active', '10.0.0.2')] }), instance('b')],
    },
    {
      kind: 'runtime',
      commands: [
        `set map ${CHALLENGES} /.well-known/acme-challenge/tok_0123456789abcdef tok_0123456789abcdef.other`,
        `add server be_a/as_a2 10.0.0.2:8000 ${ARGS} weight 100`,
        'enable health be_a/as_a2',
        'enable server be_a/as_a2',
        'set server be_a/as_a1 state drain',
        `del map ${CHALLENGES} /.well-known/acme-challenge/old_0123456789abcdef`,
      ],
    },
  ],
]

describe('planChanges for certificates and challenges', () => {
  it.each(tlsCases)('%s', (_name, applied, next, expected) => {
    expect(planChanges(applied, next, TLS)).toEqual(expected)
  })

  it('knows the default certificate from the last reload, not from the applied crt-list order', () => {
    // Loaded with c2 only; c1 was added at run time (it sorts first in the file, but HAProxy's default is still c2).
    const applied = tls(['c1'], [certificate('c1'), certificate('c2')], { bCerts: ['c2'] })
    const withoutC1 = tls([], [certificate('c2')], { bCerts: ['c2'] })
    expect(planChanges(applied, withoutC1, TLS, 'c2')).toEqual({
      kind: 'runtime',
      commands: [`del ssl crt-list ${CRT_LIST} ${file('c1')}`, `del ssl cert ${file('c1')}`],
    })
    expect(planChanges(applied, tls(['c1'], [certificate('c1')]), TLS, 'c2')).toMatchObject({ kind: 'reload' })
  })

  it('without an HTTPS port, certificates are files only: no command', () => {
    expect(planChanges(tls([], []), tls(['c1'], [certificate('c1')]), OPTIONS)).toEqual({ kind: 'none' })
  })

  it('instances added still reload, whatever the certificates do', () => {
    const next = { ...tls(['c1'], [certificate('c1')]), instances: [...tls(['c1'], []).instances, instance('c')] }
    expect(planChanges(tls([], []), next, TLS)).toEqual({ kind: 'reload', reason: 'instances added: c' })
  })

  it('refuses a next state whose instance uses a certificate it does not hold', () => {
    expect(() => planChanges(tls([], []), tls(['c9'], []), TLS)).toThrow(RenderError)
  })
})

describe('planChanges', () => {
  it.each(cases)('%s', (_name, applied, next, expected) => {
    expect(planChanges(applied, next, OPTIONS)).toEqual(expected)
  })

  it('lists the first few instances of a large change', () => {
    const many = state(...Array.from({ length: 8 }, (_, n) => instance(`n${n}`)))
    const plan = planChanges(state(), many, OPTIONS)
    expect(plan).toEqual({ kind: 'reload', reason: 'instances added: n0, n1, n2, n3, n4 and 3 more' })
  })

  it('refuses a next state that cannot be rendered, naming the instance', () => {
    let error: unknown
    try {
      planChanges(BASE, withA({ hostnames: ['a.test; del map x'] }), OPTIONS)
    } catch (err) {
      error = err
    }
    expect(error).toBeInstanceOf(RenderError)
    expect(error).toMatchObject({ instanceId: 'a' })
  })
})
