import { promises as dnsPromises } from 'node:dns'
import net from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createGandiDns, type GandiDnsOptions } from '@/provisioners/dns/gandi'
import { ProvisionerError, type DnsProvider } from '@/provisioners/types'
import { startGandiDouble, type GandiDouble } from '@/test/fakes/gandi/server'
import { startPebble, type Pebble } from '@/test/support/pebble'
import { rejection } from '@/test/support/rejection'

const ZONE = 'hosting.test'
const OTHER = 'other.test'
const TOKEN = 'pat_tenon-test-token-must-never-be-shown'
const LIMITED = 'pat_tenon-limited-token-other-zone-only'

let double: GandiDouble
/** Every error the adapter produced in this file: none may carry a token. */
const errors: ProvisionerError[] = []

beforeAll(async () => {
  double = await startGandiDouble({ zones: [ZONE, OTHER], tokens: { [TOKEN]: [ZONE, OTHER], [LIMITED]: [OTHER] } })
})

afterAll(async () => {
  await double?.close()
})

afterEach(() => {
  double.clearRequests()
})

function dns(overrides: Partial<GandiDnsOptions> = {}): DnsProvider {
  return createGandiDns({ baseUrl: double.url, token: TOKEN, zone: ZONE, timeoutMs: 5000, ...overrides })
}

async function failure(promise: Promise<unknown>): Promise<ProvisionerError> {
  const err = await rejection(promise)
  errors.push(err)
  return err
}

const methods = () => double.requests().map((r) => r.method)

describe('record sets', () => {
  it('checks the token and the zone', async () => {
    await expect(dns().testConnection()).resolves.toBeUndefined()
    expect(double.requests()).toEqual([{ method: 'GET', path: `/v5/livedns/domains/${ZONE}`, query: '', status: 200 }])
  })

  it('creates a set, reads it back, and replaces it with exactly one PUT', async () => {
    const provider = dns()
    await provider.replace({ name: 'acme', type: 'A', ttl: 300, values: ['192.0.2.10', '192.0.2.11'] })
    expect(double.requests()).toEqual([{ method: 'PUT', path: `/v5/livedns/domains/${ZONE}/records/acme/A`, query: '', status: 201 }])
    expect(await provider.get('acme', 'A')).toEqual({ name: 'acme', type: 'A', ttl: 300, values: ['192.0.2.10', '192.0.2.11'] })

    double.clearRequests()
    await provider.replace({ name: 'acme', type: 'A', ttl: 600, values: ['192.0.2.20'] })
    // One request per change, and never a DELETE then re-add: the name never stops resolving.
    expect(methods()).toEqual(['PUT'])
    expect(double.records(ZONE).find((s) => s.rrset_name === 'acme' && s.rrset_type === 'A')).toEqual({
      rrset_name: 'acme',
      rrset_type: 'A',
      rrset_ttl: 600,
      rrset_values: ['192.0.2.20'],
    })
    expect(await provider.get('acme', 'A')).toEqual({ name: 'acme', type: 'A', ttl: 600, values: ['192.0.2.20'] })
  })

  it('answers null for a set that does not exist', async () => {
    expect(await dns().get('nothing-here', 'CNAME')).toBeNull()
    expect(double.requests()[0]?.status).toBe(404)
  })

  it('removes a set, and removing it again is fine', async () => {
    const provider = dns()
    await provider.replace({ name: 'gone', type: 'AAAA', ttl: 300, values: ['2001:db8::1'] })
    await provider.remove('gone', 'AAAA')
    expect(await provider.get('gone', 'AAAA')).toBeNull()
    await expect(provider.remove('gone', 'AAAA')).resolves.toBeUndefined()
    expect(double.requests().map((r) => `${r.method} ${r.status}`)).toEqual(['PUT 201', 'DELETE 204', 'GET 404', 'DELETE 404'])
  })

  it('quotes TXT values on the wire and reads them back without quotes', async () => {
    const provider = dns()
    const values = ['token-abc_123', 'say "hi" \\ there', 'x'.repeat(300)]
    await provider.replace({ name: '_acme-challenge.acme', type: 'TXT', ttl: 300, values })
    const stored = double.records(ZONE).find((s) => s.rrset_name === '_acme-challenge.acme')
    expect(stored?.rrset_values).toEqual(['"token-abc_123"', '"say \\"hi\\" \\\\ there"', `"${'x'.repeat(255)}" "${'x'.repeat(45)}"`])
    expect((await provider.get('_acme-challenge.acme', 'TXT'))?.values).toEqual(values)
  })

  it('reads TXT values another tool wrote without quotes', async () => {
    // LiveDNS quotes a bare value itself (acme.sh, for one, sends them bare).
    const raw = await fetch(`${double.url}/domains/${ZONE}/records/bare/TXT`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ rrset_values: ['written bare'], rrset_ttl: 300 }),
    })
    expect(raw.status).toBe(201)
    expect((await dns().get('bare', 'TXT'))?.values).toEqual(['written bare'])
  })

  it('handles the apex and wildcard names, and lower-cases names', async () => {
    const provider = dns()
    await provider.replace({ name: '@', type: 'A', ttl: 300, values: ['192.0.2.1'] })
    await provider.replace({ name: '*.Acme', type: 'CNAME', ttl: 300, values: ['lb.hosting.test.'] })
    await provider.replace({ name: 'WWW', type: 'AAAA', ttl: 300, values: ['2001:db8::80'] })
    expect(double.requests().map((r) => r.path)).toEqual([
      `/v5/livedns/domains/${ZONE}/records/@/A`,
      `/v5/livedns/domains/${ZONE}/records/*.acme/CNAME`,
      `/v5/livedns/domains/${ZONE}/records/www/AAAA`,
    ])
    expect(await provider.get('@', 'A')).toEqual({ name: '@', type: 'A', ttl: 300, values: ['192.0.2.1'] })
    expect(await provider.get('*.acme', 'CNAME')).toEqual({ name: '*.acme', type: 'CNAME', ttl: 300, values: ['lb.hosting.test.'] })
    expect((await provider.get('www', 'AAAA'))?.values).toEqual(['2001:db8::80'])
  })

  it('lists every set it manages, leaving out types Tenon does not manage', async () => {
    const provider = createGandiDns({ baseUrl: double.url, token: TOKEN, zone: OTHER, timeoutMs: 5000 })
    double.seed(OTHER, { name: '@', type: 'MX', values: ['10 mail.other.test.'] })
    await provider.replace({ name: '@', type: 'A', ttl: 300, values: ['192.0.2.5'] })
    await provider.replace({ name: 'one', type: 'TXT', ttl: 900, values: ['first'] })
    await provider.replace({ name: 'two', type: 'CNAME', ttl: 300, values: ['one.other.test.'] })
    const sets = await provider.list()
    expect(sets).toEqual([
      { name: '@', type: 'A', ttl: 300, values: ['192.0.2.5'] },
      { name: 'one', type: 'TXT', ttl: 900, values: ['first'] },
      { name: 'two', type: 'CNAME', ttl: 300, values: ['one.other.test.'] },
    ])
  })

  it('follows pagination (Link rel="next") to the last page', async () => {
    const paged = await startGandiDouble({ zones: [ZONE], tokens: { [TOKEN]: [ZONE] }, pageSize: 2 })
    try {
      const provider = createGandiDns({ baseUrl: paged.url, token: TOKEN, zone: ZONE, timeoutMs: 5000 })
      for (let i = 0; i < 5; i++) await provider.replace({ name: `host${i}`, type: 'A', ttl: 300, values: [`192.0.2.${i + 1}`] })
      paged.clearRequests()
      const sets = await provider.list()
      expect(sets.map((s) => s.name)).toEqual(['host0', 'host1', 'host2', 'host3', 'host4'])
      expect(paged.requests().map((r) => r.query)).toEqual(['', '?per_page=2&page=2', '?per_page=2&page=3'])
    } finally {
      await paged.close()
    }
  })

  it('checks a record set before sending anything', async () => {
    const provider = dns()
    for (const bad of [
      { name: 'acme.', type: 'A' as const, ttl: 300, values: ['192.0.2.1'] },
      { name: 'a/b', type: 'A' as const, ttl: 300, values: ['192.0.2.1'] },
      { name: 'acme', type: 'A' as const, ttl: 60, values: ['192.0.2.1'] },
      { name: 'acme', type: 'A' as const, ttl: 300, values: [] },
    ]) {
      const err = await failure(provider.replace(bad))
      expect(err.retryable).toBe(false)
      expect(err.message).toMatch(/^Gandi replace record set: invalid record set/)
    }
    const err = await failure(provider.get('../../x', 'A'))
    expect(err.message).toContain('is not a record name relative to hosting.test')
    expect(double.requests()).toEqual([])
  })
})

describe('errors', () => {
  it('401: the token was refused, not retryable', async () => {
    const err = await failure(
      dns({ token: 'pat_wrong-token-also-secret' }).replace({ name: 'x', type: 'A', ttl: 300, values: ['192.0.2.1'] }),
    )
    expect(err).toMatchObject({ provider: 'Gandi', operation: 'replace record set', retryable: false })
    expect(err.message).toContain('refused the personal access token (HTTP 401)')
    expect(err.message).not.toContain('pat_wrong-token-also-secret')
    expect(double.records(ZONE).some((s) => s.rrset_name === 'x')).toBe(false)
  })

  it('403: the token has no rights on the zone', async () => {
    const err = await failure(dns({ token: LIMITED }).testConnection())
    expect(err).toMatchObject({ operation: 'test connection', retryable: false })
    expect(err.message).toContain('no rights on the zone hosting.test (HTTP 403)')
  })

  it('404 on the domain: the zone is not on this account, for every operation', async () => {
    const provider = dns({ zone: 'missing.test' })
    for (const call of [
      () => provider.testConnection(),
      () => provider.get('acme', 'A'),
      () => provider.remove('acme', 'A'),
      () => provider.list(),
      () => provider.replace({ name: 'acme', type: 'A', ttl: 300, values: ['192.0.2.1'] }),
    ]) {
      const err = await failure(call())
      expect(err.retryable).toBe(false)
      expect(err.message).toContain('the zone missing.test is not on this Gandi account (or not using LiveDNS) (Unknown domain)')
    }
  })

  it("400: the API's error descriptions, not retryable", async () => {
    const err = await failure(dns().replace({ name: 'bad', type: 'A', ttl: 300, values: ['192.0.2.1', '999.1.1.1', 'not-an-ip'] }))
    expect(err.retryable).toBe(false)
    expect(err.message).toBe(
      "Gandi replace record set: bad A: the API refused the request: rrset_values: '999.1.1.1': must be an IPv4 address; rrset_values: 'not-an-ip': must be an IPv4 address",
    )
    const cname = await failure(dns().replace({ name: 'bad', type: 'CNAME', ttl: 300, values: ['a.test.', 'b.test.'] }))
    expect(cname.message).toContain('A CNAME record set holds exactly one value')
  })

  it("409: the API's message", async () => {
    double.failNext(1, {
      status: 409,
      body: { code: 409, message: 'A DNS record with this name and type already exists', object: 'HTTPConflict', cause: 'Conflict' },
    })
    const err = await failure(dns().replace({ name: 'dup', type: 'A', ttl: 300, values: ['192.0.2.1'] }))
    expect(err.retryable).toBe(false)
    expect(err.message).toContain('dup A: conflict (HTTP 409) (A DNS record with this name and type already exists)')
  })

  it('429 with a long Retry-After: retryable, with retryAfterMs, left to the caller', async () => {
    double.failNext(1, { status: 429, retryAfter: 120 })
    const err = await failure(dns().replace({ name: 'limited', type: 'A', ttl: 300, values: ['192.0.2.1'] }))
    expect(err).toMatchObject({ retryable: true, retryAfterMs: 120_000 })
    expect(err.message).toContain('rate limited by the API (HTTP 429)')
    expect(methods()).toEqual(['PUT'])
  })

  it('429 with Retry-After as an HTTP date', async () => {
    double.failNext(1, { status: 429, retryAfter: new Date(Date.now() + 60_000).toUTCString() })
    const err = await failure(dns().get('limited', 'A'))
    expect(err.retryable).toBe(true)
    expect(err.retryAfterMs).toBeGreaterThan(50_000)
    expect(err.retryAfterMs).toBeLessThanOrEqual(60_000)
  })

  it('429 with a short Retry-After is waited out and tried once more', async () => {
    double.failNext(1, { status: 429, retryAfter: 1 })
    await dns().replace({ name: 'patient', type: 'A', ttl: 300, values: ['192.0.2.7'] })
    expect(double.requests().map((r) => `${r.method} ${r.status}`)).toEqual(['PUT 429', 'PUT 201'])
    expect((await dns().get('patient', 'A'))?.values).toEqual(['192.0.2.7'])
  })

  it('500 and 503: retryable (503 with its Retry-After)', async () => {
    double.failNext(1, { status: 500 })
    const err = await failure(dns().list())
    expect(err).toMatchObject({ retryable: true, retryAfterMs: undefined })
    expect(err.message).toContain('HTTP 500')
    double.failNext(1, { status: 503, retryAfter: 30 })
    const unavailable = await failure(dns().remove('acme', 'A'))
    expect(unavailable).toMatchObject({ retryable: true, retryAfterMs: 30_000 })
  })

  it('redacts the token when an answer echoes it (a misbehaving proxy)', async () => {
    double.failNext(1, { status: 502, body: { code: 502, message: `upstream refused Authorization: Bearer ${TOKEN}` } })
    const err = await failure(dns().get('echo', 'A'))
    expect(err.retryable).toBe(true)
    expect(err.message).toContain('upstream refused Authorization: Bearer [redacted]')
  })

  it('an API that does not answer in time: retryable', async () => {
    double.stallNext(1)
    const err = await failure(dns({ timeoutMs: 200 }).get('slow', 'A'))
    expect(err.retryable).toBe(true)
    expect(err.message).toContain('no answer from the LiveDNS API')
  })

  it('an API that cannot be reached: retryable', async () => {
    const port = await new Promise<number>((resolve) => {
      const server = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as net.AddressInfo
        server.close(() => resolve(port))
      })
    })
    const err = await failure(dns({ baseUrl: `http://127.0.0.1:${port}/v5/livedns` }).testConnection())
    expect(err.retryable).toBe(true)
    expect(err.message).toContain('cannot reach the LiveDNS API')
  })
})

describe('the double', () => {
  const api = (path: string, init: RequestInit = {}, token = TOKEN) =>
    fetch(`${double.url}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...init.headers },
    })

  it('POST creates and answers 409 for an existing set', async () => {
    const body = JSON.stringify({ rrset_values: ['192.0.2.9'] })
    const first = await api(`/domains/${ZONE}/records/posted/A`, { method: 'POST', body })
    expect(first.status).toBe(201)
    expect(await first.json()).toEqual({ message: 'DNS Record Created' })
    const again = await api(`/domains/${ZONE}/records/posted/A`, { method: 'POST', body })
    expect(again.status).toBe(409)
    expect(await again.json()).toMatchObject({ code: 409, object: 'HTTPConflict' })
    // rrset_ttl left out: Gandi's default
    expect(double.records(ZONE).find((s) => s.rrset_name === 'posted')?.rrset_ttl).toBe(10_800)
  })

  it.each([
    ['a TTL under 300', 'x', 'A', { rrset_values: ['192.0.2.1'], rrset_ttl: 299 }, 'rrset_ttl'],
    ['a TTL over 30 days', 'x', 'A', { rrset_values: ['192.0.2.1'], rrset_ttl: 2_592_001 }, 'rrset_ttl'],
    ['a bad IPv6 address', 'x', 'AAAA', { rrset_values: ['2001:db8::g'] }, 'rrset_values'],
    ['an IPv6 address in an A set', 'x', 'A', { rrset_values: ['2001:db8::1'] }, 'rrset_values'],
    ['an empty value list', 'x', 'A', { rrset_values: [] }, 'rrset_values'],
    ['a CNAME that is not a host name', 'x', 'CNAME', { rrset_values: ['not a host'] }, 'rrset_values'],
    ['unbalanced TXT quotes', 'x', 'TXT', { rrset_values: ['"abc'] }, 'rrset_values'],
    ['a TXT string over 255 bytes', 'x', 'TXT', { rrset_values: [`"${'y'.repeat(256)}"`] }, 'rrset_values'],
    ['a name with bad characters', 'bad%20name', 'A', { rrset_values: ['192.0.2.1'] }, 'rrset_name'],
    ['an absolute name outside the zone', 'acme.elsewhere.test.', 'A', { rrset_values: ['192.0.2.1'] }, 'rrset_name'],
    ['an unknown type', 'x', 'BOGUS', { rrset_values: ['192.0.2.1'] }, 'rrset_type'],
  ])('refuses %s with 400', async (_label, name, type, body, field) => {
    const response = await api(`/domains/${ZONE}/records/${name}/${type}`, { method: 'PUT', body: JSON.stringify(body) })
    expect(response.status).toBe(400)
    const answer = (await response.json()) as { code: number; object: string; errors: { name: string }[] }
    expect(answer).toMatchObject({ code: 400, object: 'HTTPBadRequest' })
    expect(answer.errors.map((e) => e.name)).toContain(field)
  })

  it('takes an absolute name inside the zone as the relative one', async () => {
    const response = await api(`/domains/${ZONE}/records/abs.${ZONE}./A`, {
      method: 'PUT',
      body: JSON.stringify({ rrset_values: ['192.0.2.3'] }),
    })
    expect(response.status).toBe(201)
    expect(double.records(ZONE).some((s) => s.rrset_name === 'abs' && s.rrset_type === 'A')).toBe(true)
  })

  it("answers Gandi's error bodies for authentication and unknown domains", async () => {
    const noToken = await fetch(`${double.url}/domains/${ZONE}`)
    expect(noToken.status).toBe(401)
    expect(await noToken.json()).toMatchObject({ code: 401, object: 'HTTPUnauthorized', cause: 'Unauthorized' })
    const unknown = await api('/domains/missing.test/records')
    expect(unknown.status).toBe(404)
    expect(await unknown.json()).toEqual({ code: 404, message: 'Unknown domain', object: 'LocalizedHTTPNotFound', cause: 'Not Found' })
    const forbidden = await api(`/domains/${ZONE}/records`, {}, LIMITED)
    expect(forbidden.status).toBe(403)
    const domains = await api('/domains', {}, LIMITED)
    expect(((await domains.json()) as { fqdn: string }[]).map((d) => d.fqdn)).toEqual([OTHER])
  })
})

describe('forwarding to pebble-challtestsrv', () => {
  // Pebble's test set-up (test/support/pebble.ts) runs challtestsrv with no default addresses: a name resolves only
  // once something added it, so "removed" reads as no data.
  let pebble: Pebble
  let forwarding: GandiDouble

  beforeAll(async () => {
    pebble = await startPebble()
    forwarding = await startGandiDouble({ zones: [ZONE], tokens: { [TOKEN]: [ZONE] }, challtestsrv: pebble.challtestsrv })
  })

  afterAll(async () => {
    await forwarding?.close()
    await pebble?.close()
  })

  const noData = (promise: Promise<unknown>) =>
    promise.then(
      (answer) => answer,
      (err: NodeJS.ErrnoException) => err.code,
    )

  it('makes what the adapter wrote resolvable, and gone once removed', async () => {
    const provider = createGandiDns({ baseUrl: forwarding.url, token: TOKEN, zone: ZONE, timeoutMs: 5000 })
    const resolver = new dnsPromises.Resolver({ timeout: 2000, tries: 2 })
    resolver.setServers([`127.0.0.1:${pebble.dnsPort}`])

    await provider.replace({ name: '_acme-challenge.site', type: 'TXT', ttl: 300, values: ['first-token', 'second "token"'] })
    await provider.replace({ name: 'site', type: 'A', ttl: 300, values: ['192.0.2.30', '192.0.2.31'] })
    await provider.replace({ name: '@', type: 'AAAA', ttl: 300, values: ['2001:db8::30'] })
    const txt = await resolver.resolveTxt(`_acme-challenge.site.${ZONE}`)
    expect(txt.map((strings) => strings.join('')).sort()).toEqual(['first-token', 'second "token"'])
    expect((await resolver.resolve4(`site.${ZONE}`)).sort()).toEqual(['192.0.2.30', '192.0.2.31'])
    expect(await resolver.resolve6(ZONE)).toEqual(['2001:db8::30'])

    // Replacing answers the new set only.
    await provider.replace({ name: 'site', type: 'A', ttl: 300, values: ['192.0.2.40'] })
    await provider.replace({ name: '_acme-challenge.site', type: 'TXT', ttl: 300, values: ['third-token'] })
    expect(await resolver.resolve4(`site.${ZONE}`)).toEqual(['192.0.2.40'])
    expect(await resolver.resolveTxt(`_acme-challenge.site.${ZONE}`)).toEqual([['third-token']])

    await provider.remove('_acme-challenge.site', 'TXT')
    await provider.remove('site', 'A')
    await provider.remove('@', 'AAAA')
    expect(await noData(resolver.resolveTxt(`_acme-challenge.site.${ZONE}`))).toBe('ENODATA')
    expect(await noData(resolver.resolve4(`site.${ZONE}`))).toBe('ENODATA')
    expect(await noData(resolver.resolve6(ZONE))).toBe('ENODATA')
  })

  it('answers 502 and keeps nothing when challtestsrv cannot be reached', async () => {
    const broken = await startGandiDouble({ zones: [ZONE], tokens: { [TOKEN]: [ZONE] }, challtestsrv: 'http://127.0.0.1:1' })
    try {
      const provider = createGandiDns({ baseUrl: broken.url, token: TOKEN, zone: ZONE, timeoutMs: 5000 })
      const err = await failure(provider.replace({ name: 'lost', type: 'A', ttl: 300, values: ['192.0.2.50'] }))
      expect(err.retryable).toBe(true)
      expect(err.message).toContain('HTTP 502')
      expect(err.message).toContain('forwarding to pebble-challtestsrv failed')
      expect(broken.records(ZONE)).toEqual([])
    } finally {
      await broken.close()
    }
  })
})

// Last, so that it sees the errors of every test above.
describe('secrets', () => {
  it('never shows a token in any error', () => {
    expect(errors.length).toBeGreaterThan(15)
    for (const err of errors) {
      const text = `${err.message} ${String(err.cause ?? '')}`
      expect(text).not.toContain(TOKEN)
      expect(text).not.toContain(LIMITED)
      expect(text).not.toContain('pat_')
    }
  })
})
