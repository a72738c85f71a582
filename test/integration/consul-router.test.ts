import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { consulKeys, ZRoutedCertificate, ZRoutedInstance, ZRoutingRevision, type AgentReport } from '@/provisioners/consul/layout'
import { createConsulRouter, type ConsulRouter } from '@/provisioners/consul/router'
import type { DesiredRouting } from '@/provisioners/types'
import { startConsulDouble, type ConsulDouble } from '@/test/fakes/consul/server'
import { rejection } from '@/test/support/rejection'

/** The consul router against the Consul protocol double: the KV layout, revisions, services, waiting for the nodes, drift. */
const TOKEN = `consul-token-${randomUUID()}`
const prefix = `t${randomUUID().slice(0, 6)}`
const keys = consulKeys(prefix)
let consul: ConsulDouble
let router: ConsulRouter

const routingOf = (over: Partial<DesiredRouting> = {}): DesiredRouting => ({
  instanceId: randomUUID(),
  slug: `site-${randomUUID().slice(0, 6)}`,
  hostnames: ['a.hosting.test', 'studio.a.hosting.test'],
  backends: [{ appserverId: randomUUID(), address: 'http://127.0.0.1:4101', role: 'active' }],
  healthPath: '/heartbeat',
  maintenance: false,
  certificates: [],
  ...over,
})

const make = (over: Partial<Parameters<typeof createConsulRouter>[0]> = {}) =>
  createConsulRouter({
    address: consul.url,
    token: TOKEN,
    prefix,
    timeoutMs: 2000,
    applyTimeoutMs: 1500,
    agentStaleMs: 60_000,
    pollMs: 20,
    ...over,
  })

async function until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out')
    await new Promise((r) => setTimeout(r, 10))
  }
}

const revisionNow = () => ZRoutingRevision.parse(JSON.parse(consul.state.get(keys.revision)!.value.toString())).revision
const instanceKey = (id: string) => consul.state.get(keys.instance(id))

function report(node: string, over: Partial<AgentReport> = {}): void {
  const now = new Date().toISOString()
  const value: AgentReport = {
    node,
    revision: 0,
    appliedAt: null,
    lagMs: null,
    method: 'none',
    lastError: null,
    lastErrorAt: null,
    lastSeen: now,
    seenRevision: 0,
    publicAddresses: [],
    ...over,
  }
  consul.state.put(keys.agent(node), JSON.stringify(value))
}

beforeAll(async () => {
  consul = await startConsulDouble({ token: TOKEN })
  router = make()
})

afterAll(async () => {
  router?.close()
  await consul?.stop()
})

describe('consul router', () => {
  it('writes the instance with a new revision in one transaction and registers its appservers as services', async () => {
    const routing = routingOf()
    await router.publish(routing)
    const first = revisionNow()
    const stored = ZRoutedInstance.parse(JSON.parse(instanceKey(routing.instanceId)!.value.toString()))
    expect(stored).toMatchObject({
      revision: first,
      hostnames: routing.hostnames,
      backends: [{ host: '127.0.0.1', port: 4101, role: 'active' }],
    })
    const services = consul.state.services().filter((s) => s.meta?.instanceId === routing.instanceId)
    expect(services.map((s) => s.id)).toEqual([`${prefix}-as-${routing.backends[0]!.appserverId}`])
    // The same routing again writes nothing: a retried publish waits for the same revision.
    await router.publish(routing)
    expect(revisionNow()).toBe(first)
    expect(router.siteUrl(routing)).toBe('http://a.hosting.test')
    expect(router.siteUrl({ ...routing, maintenance: true })).toBeNull()
  })

  it('waits until every live node reports the revision applied, and not for a node that went silent', async () => {
    report('lb-1')
    report('lb-gone', { lastSeen: new Date(Date.now() - 3_600_000).toISOString() })
    const routing = routingOf()
    let done = false
    const before = revisionNow()
    const publishing = router.publish(routing).then(() => (done = true))
    // Written, and waited for: publish is still pending while lb-1 reports an older revision.
    await until(() => revisionNow() > before)
    await new Promise((r) => setTimeout(r, 100))
    expect(done).toBe(false)
    const revision = revisionNow()
    report('lb-1', { revision, seenRevision: revision, appliedAt: new Date().toISOString(), method: 'runtime' })
    await publishing
    expect(done).toBe(true)
  })

  it('fails fast with the node’s own error when it refused the revision, and after the deadline when it is stuck', async () => {
    const before = revisionNow()
    const refused = router.publish(routingOf())
    await until(() => revisionNow() > before)
    const revision = revisionNow()
    report('lb-1', {
      revision: revision - 1,
      seenRevision: revision,
      lastError: 'haproxy -c: invalid server address',
      lastErrorAt: new Date().toISOString(),
    })
    const err = await rejection(refused)
    expect(err.message).toMatch(/lb-1 could not apply revision \d+: haproxy -c: invalid server address/)
    expect(err.retryable).toBe(true)

    report('lb-1', { revision: revision - 1, seenRevision: revision - 1 })
    const stuck = await rejection(router.publish(routingOf()))
    expect(stuck.message).toMatch(/lb-1 \(at \d+\) did not apply revision \d+ within 1500 ms/)
    consul.state.delete(keys.agent('lb-1'))
    consul.state.delete(keys.agent('lb-gone'))
  })

  it('serialises concurrent publishers on the revision (compare-and-set), each change under its own revision', async () => {
    const other = make()
    const routings = Array.from({ length: 6 }, () => routingOf())
    const before = revisionNow()
    await Promise.all(routings.map((r, i) => (i % 2 ? other : router).publish(r)))
    other.close()
    expect(revisionNow()).toBe(before + routings.length)
    const revisions = routings.map((r) => ZRoutedInstance.parse(JSON.parse(instanceKey(r.instanceId)!.value.toString())).revision)
    expect(new Set(revisions).size).toBe(routings.length)
  })

  it('removes an instance: its key and services go, under a new revision', async () => {
    const routing = routingOf()
    await router.publish(routing)
    const before = revisionNow()
    await router.remove(routing.instanceId)
    expect(instanceKey(routing.instanceId)).toBeUndefined()
    expect(consul.state.services().filter((s) => s.meta?.instanceId === routing.instanceId)).toEqual([])
    expect(revisionNow()).toBe(before + 1)
    await router.remove(routing.instanceId) // idempotent
    expect(revisionNow()).toBe(before + 1)
  })

  it('reconciles: rewrites a key changed or deleted by hand, removes stale keys, registers missing services', async () => {
    const kept = routingOf()
    const edited = routingOf()
    const deleted = routingOf()
    const stale = routingOf()
    for (const r of [kept, edited, deleted, stale]) await router.publish(r)
    consul.state.put(
      keys.instance(edited.instanceId),
      JSON.stringify({ ...JSON.parse(instanceKey(edited.instanceId)!.value.toString()), maintenance: true }),
    )
    consul.state.delete(keys.instance(deleted.instanceId))
    const keptService = `${prefix}-as-${kept.backends[0]!.appserverId}`
    await fetch(`${consul.url}/v1/agent/service/deregister/${keptService}`, { method: 'PUT', headers: { 'x-consul-token': TOKEN } })
    const all = (await router.snapshot()).instances.map((i) => i.instanceId)
    const desired = [
      kept,
      edited,
      deleted,
      ...all.filter((id) => ![kept, edited, deleted, stale].some((r) => r.instanceId === id)).map((id) => routingOf({ instanceId: id })),
    ]
    const report = await router.reconcile(desired.filter((d) => [kept, edited, deleted].includes(d)))
    expect(report.written.sort()).toEqual([edited.instanceId, deleted.instanceId].sort())
    expect(report.removed).toContain(stale.instanceId)
    expect(report.services).toBe(1)
    expect(consul.state.services().map((s) => s.id)).toContain(keptService)
    expect(instanceKey(stale.instanceId)).toBeUndefined()
    expect(ZRoutedInstance.parse(JSON.parse(instanceKey(edited.instanceId)!.value.toString())).maintenance).toBe(false)
    const again = await router.reconcile([kept, edited, deleted])
    expect(again).toEqual({ written: [], removed: [], services: 0 })
  })

  it('reports the load-balancer nodes, their public addresses and the latest revision', async () => {
    report('lb-a', { revision: revisionNow(), seenRevision: revisionNow(), publicAddresses: ['203.0.113.5'] })
    const state = await router.loadBalancers()
    expect(state.revision).toBe(revisionNow())
    expect(state.nodes.map((n) => [n.node, n.publicAddresses])).toEqual([['lb-a', ['203.0.113.5']]])
    consul.state.delete(keys.agent('lb-a'))
  })

  it('names Consul and the operation when the token is refused or Consul is down', async () => {
    const wrong = make({ token: 'not-the-token' })
    const refused = await rejection(wrong.publish(routingOf()))
    expect(refused.message).toMatch(/^Consul /)
    expect(refused.message).toMatch(/ACL|403/)
    expect(refused.message).not.toContain(TOKEN)
    wrong.close()
    const down = make({ address: 'http://127.0.0.1:1' })
    const unreachable = await rejection(down.publish(routingOf()))
    expect(unreachable.retryable).toBe(true)
    down.close()
  })

  it('delivers certificates and challenges under a revision each; the same certificate again writes nothing; reconcile keeps them', async () => {
    const delivery = router.certificates
    const id = `cert-${randomUUID().slice(0, 8)}`
    const certificate = {
      id,
      certificate: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n',
      keyCiphertext: 'v1.lb1.iv.tag.ciphertext-one',
      fingerprint: 'a1'.repeat(32),
      notAfter: '2027-03-01T00:00:00.000Z',
    }
    const before = revisionNow()
    await delivery.putCertificate(certificate)
    expect(revisionNow()).toBe(before + 1)
    const stored = ZRoutedCertificate.parse(JSON.parse(consul.state.get(keys.certificate(id))!.value))
    expect(stored).toEqual({ ...certificate, revision: before + 1 })
    // The same key encrypted again (another ciphertext), same certificate: nothing written.
    await delivery.putCertificate({ ...certificate, keyCiphertext: 'v1.lb1.iv.tag.ciphertext-two' })
    expect(revisionNow()).toBe(before + 1)
    // Renewed: rewritten.
    await delivery.putCertificate({ ...certificate, keyCiphertext: 'v1.lb1.iv.tag.three', fingerprint: 'b2'.repeat(32) })
    expect(revisionNow()).toBe(before + 2)
    expect(await delivery.listCertificates()).toContainEqual({ id, fingerprint: 'b2'.repeat(32) })
    // LB_CERTIFICATE_KEYS rotated (another key id): rewritten under the new key, even for the same certificate.
    await delivery.putCertificate({ ...certificate, keyCiphertext: 'v1.lb2.iv.tag.four', fingerprint: 'b2'.repeat(32) })
    expect(revisionNow()).toBe(before + 3)
    await delivery.putCertificate({ ...certificate, keyCiphertext: 'v1.lb2.iv.tag.five', fingerprint: 'b2'.repeat(32) })
    expect(revisionNow()).toBe(before + 3)

    const token = 'tok_0123456789abcdefXYZ'
    const challenge = { token, keyAuthorization: `${token}.thumbprint`, hostname: 'a.hosting.test', expiresAt: '2027-01-01T00:00:00.000Z' }
    await delivery.putChallenge(challenge)
    await delivery.putChallenge(challenge)
    expect(revisionNow()).toBe(before + 4)

    const snap = await router.snapshot()
    expect(snap.certificates).toContainEqual({ id, revision: before + 3, fingerprint: 'b2'.repeat(32), notAfter: certificate.notAfter })
    expect(JSON.stringify(snap)).not.toContain('v1.lb')
    expect(snap.challenges).toEqual([{ ...challenge, revision: before + 4 }])

    // Certificates and challenges are not instances: the reconciler leaves them alone.
    await router.reconcile([])
    expect(consul.state.get(keys.certificate(id))).toBeDefined()
    expect(consul.state.get(keys.challenge(token))).toBeDefined()

    const kept = revisionNow()
    await delivery.removeChallenge(token)
    await delivery.removeChallenge(token)
    await delivery.removeCertificate(id)
    await delivery.removeCertificate(id)
    expect(revisionNow()).toBe(kept + 2)
    expect(consul.state.get(keys.certificate(id))).toBeUndefined()
    expect(consul.state.get(keys.challenge(token))).toBeUndefined()

    // Input the agents would refuse is refused here, without quoting the values.
    const invalid = await rejection(delivery.putCertificate({ ...certificate, fingerprint: 'not-hex' }))
    expect(invalid.message).toMatch(/^Consul put certificate: invalid input \(fingerprint: /)
    expect(invalid.message).not.toContain('ciphertext-one')
    expect(revisionNow()).toBe(kept + 2)
  })
})
