import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { systemActor } from '@/lib/auth/actor'
import { reconcileDns } from '@/lib/dns/reconcile-dns'
import { syncDnsOrWait, syncInstanceDns } from '@/lib/dns/sync-instance-dns'
import { createDomainContext, type DomainContext } from '@/lib/domains/domain-context'
import { archiveInstance } from '@/lib/instances/archive-instance'
import { GANDI_DOUBLE_TOKEN, startGandiDouble, type GandiDouble } from '@/test/fakes/gandi/server'
import { startDeployer, type Deployer } from '@/test/support/deployer'

/**
 * The hosting zone's records through the real Gandi adapter and the LiveDNS double: written for a new instance,
 * replaced (one PUT per set, never a DELETE) when the load balancers' addresses change or a record is edited by hand,
 * removed on archive; a 429 is waited out as Gandi says.
 */
const ZONE = 'hosting.test'
const staff = systemActor('tests')
let gandi: GandiDouble
let env: Deployer
let ctx: DomainContext
const sent: { name: string; data: object; startAfter?: Date }[] = []

beforeAll(async () => {
  gandi = await startGandiDouble({ zones: [ZONE] })
  env = await startDeployer(
    { HOSTING_ZONE: ZONE, GANDI_TOKEN: GANDI_DOUBLE_TOKEN, GANDI_API_URL: gandi.url, DNS_LB_ADDRESSES: '192.0.2.1,2001:db8::1' },
    { worker: false },
  )
  ctx = createDomainContext({
    ...env.orchestrator,
    jobs: { send: async (name, data, o) => void sent.push({ name, data, startAfter: o?.startAfter }) },
  })
})

afterAll(async () => {
  await env?.stop()
  await gandi?.close()
})

const setsOf = (slug: string) => gandi.records(ZONE).filter((r) => r.rrset_name === slug || r.rrset_name.endsWith(`.${slug}`))

describe('DNS records of the hosting zone', () => {
  let instance: { id: string; slug: string }

  it('writes A and AAAA sets for every hostname of a new instance, once', async () => {
    instance = await env.createInstance()
    expect(await syncInstanceDns(ctx, instance.id)).toEqual({ written: 8, removed: 0 })
    expect(
      setsOf(instance.slug)
        .map((r) => `${r.rrset_name} ${r.rrset_type} ${r.rrset_values.join(',')}`)
        .sort(),
    ).toEqual(
      ['', 'apps.', 'preview.', 'studio.']
        .flatMap((p) => [`${p}${instance.slug} A 192.0.2.1`, `${p}${instance.slug} AAAA 2001:db8::1`])
        .sort(),
    )
    gandi.clearRequests()
    expect(await syncInstanceDns(ctx, instance.id)).toEqual({ written: 0, removed: 0 })
    expect(gandi.requests()).toEqual([])
    expect(await env.db.dnsRecord.count({ where: { instanceId: instance.id, state: 'synced' } })).toBe(8)
  })

  it('replaces every set in one request each when the load balancers change, never deleting first', async () => {
    const moved = createDomainContext({
      ...env.orchestrator,
      config: { ...env.config, dns: { ...env.config.dns!, lbAddresses: ['192.0.2.1', '192.0.2.2'] } },
      jobs: ctx.jobs,
    })
    sent.length = 0
    const report = await reconcileDns(moved)
    expect(report.queued).toContain(instance.id)
    gandi.clearRequests()
    expect(await syncInstanceDns(moved, instance.id)).toEqual({ written: 4, removed: 4 })
    const requests = gandi.requests().filter((r) => r.path.includes(`/${instance.slug}`) || r.path.includes(`.${instance.slug}/`))
    expect(requests.filter((r) => r.method === 'PUT')).toHaveLength(4)
    expect(requests.filter((r) => r.method === 'DELETE').every((r) => r.path.endsWith('/AAAA'))).toBe(true)
    expect(setsOf(instance.slug).find((r) => r.rrset_name === instance.slug && r.rrset_type === 'A')?.rrset_values).toEqual([
      '192.0.2.1',
      '192.0.2.2',
    ])
    // back to the configured addresses for the rest
    await syncInstanceDns(ctx, instance.id)
  })

  it('repairs a record edited by hand', async () => {
    gandi.seed(ZONE, { name: `studio.${instance.slug}`, type: 'A', values: ['198.51.100.7'] })
    sent.length = 0
    const report = await reconcileDns(ctx)
    expect(report.drifted).toBe(1)
    expect(report.queued).toEqual([instance.id])
    await syncInstanceDns(ctx, instance.id)
    expect(setsOf(instance.slug).find((r) => r.rrset_name === `studio.${instance.slug}` && r.rrset_type === 'A')?.rrset_values).toEqual([
      '192.0.2.1',
    ])
  })

  it('waits as long as Gandi says when rate limited, and records the failure', async () => {
    const other = await env.createInstance()
    gandi.failNext(1, { status: 429, retryAfter: 120 })
    sent.length = 0
    const outcome = await syncDnsOrWait(ctx, other.id)
    expect(outcome).toHaveProperty('waitingUntil')
    expect(sent).toHaveLength(1)
    expect(sent[0]!.startAfter!.getTime() - Date.now()).toBeGreaterThan(100_000)
    expect(await env.db.dnsRecord.findFirst({ where: { instanceId: other.id, state: 'failed' } })).toMatchObject({
      lastError: expect.stringMatching(/429|rate/i),
    })
    expect(await syncInstanceDns(ctx, other.id)).toMatchObject({ removed: 0 })
    expect(await env.db.dnsRecord.count({ where: { instanceId: other.id, state: { not: 'synced' } } })).toBe(0)
  })

  it('removes the records of an archived instance', async () => {
    await archiveInstance({ db: env.db, actor: staff, hostingZone: ZONE, id: instance.id, confirm: instance.slug })
    expect(await syncInstanceDns(ctx, instance.id)).toEqual({ written: 0, removed: 8 })
    expect(setsOf(instance.slug)).toEqual([])
    expect(await env.db.dnsRecord.count({ where: { instanceId: instance.id } })).toBe(0)
  })
})
