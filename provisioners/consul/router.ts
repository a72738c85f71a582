import type Consul from 'consul'
import { z } from 'zod'
import {
  ProvisionerError,
  type CertificateDelivery,
  type DeliveredCertificate,
  type DesiredRouting,
  type HttpChallenge,
  type LoadBalancerState,
  type Router,
  type RoutingDriftReport,
} from '../types'
import { CONSUL_PROVIDER, consulCall, consulClient, type ConsulConnection } from './client'
import { planConsulDrift } from './plan-drift'
import {
  consulKeys,
  hostPort,
  ZAgentReport,
  ZRoutedCertificate,
  ZRoutedChallenge,
  ZRoutedInstance,
  ZRoutingRevision,
  type AgentReport,
  type RoutedCertificate,
  type RoutedChallenge,
  type RoutedInstance,
  type RoutingRevision,
} from './layout'

export interface ConsulRouterOptions extends ConsulConnection {
  /** KV prefix and service-name prefix, e.g. "tenon" */
  prefix: string
  /** How long a publish waits for every live load-balancer node to apply it */
  applyTimeoutMs: number
  /** A node whose report is older than this is not waited for (it is down, or gone) */
  agentStaleMs: number
  /** How often the wait looks at the nodes' reports */
  pollMs?: number
  now?: () => Date
}

interface KvItem {
  Key: string
  ModifyIndex: number
  Value: string | null
}

/** What the console and the reconciler read back from Consul. */
export interface ConsulRoutingSnapshot {
  revision: RoutingRevision | null
  instances: RoutedInstance[]
  /** the certificates Consul holds, without their (encrypted) keys */
  certificates: Omit<RoutedCertificate, 'keyCiphertext' | 'certificate'>[]
  challenges: RoutedChallenge[]
  agents: AgentReport[]
  services: { id: string; instanceId: string | undefined; appserverId: string | undefined }[]
}

export interface ConsulRouter extends Router {
  readonly kind: 'consul'
  reconcile(desired: DesiredRouting[]): Promise<RoutingDriftReport>
  loadBalancers(): Promise<LoadBalancerState>
  certificates: CertificateDelivery
  snapshot(): Promise<ConsulRoutingSnapshot>
  /** Writes an instance's routing and services without waiting for the nodes (the reconciler's repair of drift). */
  sync(routing: DesiredRouting): Promise<void>
  /** Removes one instance's key and services without waiting for the nodes (the reconciler's repair of stale keys). */
  forget(instanceId: string): Promise<void>
  close(): void
}

const ZAgentServices = z.record(
  z.string(),
  z.object({ ID: z.string(), Service: z.string(), Meta: z.record(z.string(), z.string()).nullish() }).passthrough(),
)

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64')
/** "v1.<keyId>.<iv>.<tag>.<data>" (lib/secrets format) → keyId */
const keyIdOf = (ciphertext: string) => ciphertext.split('.')[1]

function parseJson(value: string | null): unknown {
  if (value === null) return null
  try {
    return JSON.parse(value)
  } catch {
    return null
  }
}

/** The instance as the load balancers get it (addresses split into host and port). */
export function routedInstance(routing: DesiredRouting, revision: number): RoutedInstance {
  return ZRoutedInstance.parse({
    instanceId: routing.instanceId,
    slug: routing.slug,
    revision,
    hostnames: routing.hostnames,
    backends: routing.backends.map((b) => ({ appserverId: b.appserverId, ...hostPort(b.address), role: b.role })),
    healthPath: routing.healthPath,
    maintenance: routing.maintenance,
    // Sorted, so that the same references in another order are the same routing (no rewrite, no drift).
    certificates: [...routing.certificates]
      .map((ref) => ({ id: ref.id, hostnames: [...ref.hostnames].sort() }))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),
  })
}

/** The same routing, apart from the revision that wrote it. */
const sameRouting = (a: RoutedInstance, b: RoutedInstance) =>
  JSON.stringify({ ...a, revision: 0 }) === JSON.stringify({ ...b, revision: 0 })

/**
 * The `consul` router: publishes an instance's routing to Consul's KV store in one transaction with a new revision
 * (compare-and-set on the revision key, so concurrent publishers serialise), registers its appservers as services
 * for monitoring, then waits until every live load-balancer node reports that revision applied.
 */
export function createConsulRouter(options: ConsulRouterOptions): ConsulRouter {
  const consul: Consul = consulClient(options)
  const keys = consulKeys(options.prefix)
  const serviceName = `${options.prefix}-appserver`
  const now = options.now ?? (() => new Date())
  const call = <T>(operation: string, fn: () => Promise<T>) => consulCall(operation, options.address, fn)

  async function readItem(key: string): Promise<KvItem | null> {
    const item = await call('read', () => consul.kv.get({ key }))
    return item ? { Key: item.Key, ModifyIndex: item.ModifyIndex, Value: item.Value } : null
  }

  async function readTree(prefix: string): Promise<KvItem[]> {
    const items = await call('read', () => consul.kv.get({ key: prefix, recurse: true }))
    if (!items) return []
    return (Array.isArray(items) ? items : [items]).map((i) => ({ Key: i.Key, ModifyIndex: i.ModifyIndex, Value: i.Value }))
  }

  /** Writes `ops` with a new revision in one transaction; retries when another publisher took the revision first. */
  async function commit(operation: string, ops: (revision: number) => object[]): Promise<number> {
    for (let attempt = 0; attempt < 8; attempt++) {
      const current = await readItem(keys.revision)
      const parsed = ZRoutingRevision.safeParse(parseJson(current?.Value ?? null))
      const revision = (parsed.success ? parsed.data.revision : 0) + 1
      const value: RoutingRevision = { revision, publishedAt: now().toISOString() }
      const txn = [
        { KV: { Verb: 'cas', Key: keys.revision, Value: b64(JSON.stringify(value)), Index: current?.ModifyIndex ?? 0 } },
        ...ops(revision),
      ]
      // The transaction endpoint directly: the package's typings describe a body Consul does not accept.
      const answer = await txnRequest(operation, txn)
      if (answer.ok) return revision
      // 409: a check failed — the revision moved under us (another publisher); read it again.
      if (answer.status !== 409) {
        const text = (await answer.text()).slice(0, 300)
        throw new ProvisionerError(
          CONSUL_PROVIDER,
          operation,
          `${options.address} refused the transaction (${answer.status}): ${text}`,
          answer.status >= 500,
        )
      }
    }
    throw new ProvisionerError(
      CONSUL_PROVIDER,
      operation,
      'the routing revision kept changing under concurrent publishers; try again',
      true,
    )
  }

  async function txnRequest(operation: string, txn: object[]): Promise<Response> {
    try {
      return await fetch(`${options.address.replace(/\/+$/, '')}/v1/txn`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json', ...(options.token ? { 'x-consul-token': options.token } : {}) },
        body: JSON.stringify(txn),
        signal: AbortSignal.timeout(options.timeoutMs),
      })
    } catch (err) {
      throw new ProvisionerError(
        CONSUL_PROVIDER,
        operation,
        `cannot reach ${options.address}: ${err instanceof Error ? err.message : String(err)}`,
        true,
      )
    }
  }

  /** This installation's appserver services, as the agent lists them (checked: the package types them as any). */
  async function ourServices() {
    const services = ZAgentServices.parse(await call('list services', () => consul.agent.service.list()))
    return Object.values(services).filter((s) => s.Service === serviceName)
  }

  async function instanceServices(instanceId: string) {
    return (await ourServices()).filter((s) => s.Meta?.instanceId === instanceId)
  }

  async function syncServices(instance: RoutedInstance | undefined, instanceId: string) {
    const wanted = new Set(instance?.backends.map((b) => `${options.prefix}-as-${b.appserverId}`) ?? [])
    const slug = instance?.slug ?? ''
    for (const b of instance?.backends ?? []) {
      await call('register service', () =>
        consul.agent.service.register({
          id: `${options.prefix}-as-${b.appserverId}`,
          name: serviceName,
          address: b.host,
          port: b.port,
          tags: [`instance:${slug}`, `role:${b.role}`],
          meta: { instanceId, appserverId: b.appserverId, role: b.role },
          check: {
            name: `${slug} appserver health`,
            http: `http://${b.host.includes(':') ? `[${b.host}]` : b.host}:${b.port}${instance?.healthPath ?? '/'}`,
            interval: '10s',
            timeout: '5s',
          },
        }),
      )
    }
    for (const s of await instanceServices(instanceId)) {
      if (!wanted.has(s.ID)) await call('deregister service', () => consul.agent.service.deregister(s.ID))
    }
  }

  async function agents(): Promise<AgentReport[]> {
    return (await readTree(keys.agents)).flatMap((item) => {
      const parsed = ZAgentReport.safeParse(parseJson(item.Value))
      return parsed.success ? [parsed.data] : []
    })
  }

  /** Resolves once every node seen within agentStaleMs has applied `revision`; fails fast on a node's error about it. */
  async function waitForNodes(revision: number, operation: string): Promise<void> {
    const deadline = Date.now() + options.applyTimeoutMs
    for (;;) {
      const live = (await agents()).filter((a) => now().getTime() - Date.parse(a.lastSeen) <= options.agentStaleMs)
      const behind = live.filter((a) => a.revision < revision)
      if (!behind.length) return
      const refused = behind.find((a) => a.lastError && a.seenRevision >= revision)
      if (refused) {
        throw new ProvisionerError(
          CONSUL_PROVIDER,
          operation,
          `load balancer ${refused.node} could not apply revision ${revision}: ${refused.lastError}`,
          true,
        )
      }
      if (Date.now() >= deadline) {
        const list = behind.map((a) => `${a.node} (at ${a.revision})`).join(', ')
        throw new ProvisionerError(
          CONSUL_PROVIDER,
          operation,
          `load balancers ${list} did not apply revision ${revision} within ${options.applyTimeoutMs} ms`,
          true,
        )
      }
      await new Promise((r) => setTimeout(r, options.pollMs ?? 100))
    }
  }

  /** Writes the instance's routing (unless Consul already has exactly that) and its services; answers the revision to wait for. */
  async function write(routing: DesiredRouting): Promise<number> {
    const existing = await readItem(keys.instance(routing.instanceId))
    const before = ZRoutedInstance.safeParse(parseJson(existing?.Value ?? null))
    const next = routedInstance(routing, 1)
    // A retry of a publish that was written but not yet applied everywhere writes nothing and waits for it again.
    const revision =
      before.success && sameRouting(before.data, next)
        ? before.data.revision
        : await commit('publish', (r) => [
            { KV: { Verb: 'set', Key: keys.instance(routing.instanceId), Value: b64(JSON.stringify({ ...next, revision: r })) } },
          ])
    await syncServices({ ...next, revision }, routing.instanceId)
    return revision
  }

  /** The parsed value of a key, or null when it is missing or does not parse. */
  async function readParsed<T>(key: string, schema: z.ZodType<T>): Promise<T | null> {
    const parsed = schema.safeParse(parseJson((await readItem(key))?.Value ?? null))
    return parsed.success ? parsed.data : null
  }

  /** Input from the caller that the agents would refuse: refused here, before it reaches them (never quoting values). */
  function checked<T>(operation: string, schema: z.ZodType<T>, value: unknown): T {
    const parsed = schema.safeParse(value)
    if (parsed.success) return parsed.data
    const fields = parsed.error.issues.map((i) => `${i.path.join('.') || 'value'}: ${i.message}`).join(', ')
    throw new ProvisionerError(CONSUL_PROVIDER, operation, `invalid input (${fields})`)
  }

  // Certificates and challenges are written like instances: one transaction with a new revision, then a wait until
  // every live node applied it. So when putCertificate resolves every node holds the certificate, and when putChallenge
  // resolves every node answers the challenge.
  const certificates: CertificateDelivery = {
    async putCertificate(certificate: DeliveredCertificate) {
      const next = checked('put certificate', ZRoutedCertificate, { ...certificate, revision: 1 })
      const before = await readParsed(keys.certificate(next.id), ZRoutedCertificate)
      // The same key encrypted again is another ciphertext: the fingerprint says whether the certificate changed, and
      // the key id in the ciphertext whether LB_CERTIFICATE_KEYS was rotated (agents may drop the old key afterwards).
      const revision =
        before && before.fingerprint === next.fingerprint && keyIdOf(before.keyCiphertext) === keyIdOf(next.keyCiphertext)
          ? before.revision
          : await commit('put certificate', (r) => [
              { KV: { Verb: 'set', Key: keys.certificate(next.id), Value: b64(JSON.stringify({ ...next, revision: r })) } },
            ])
      await waitForNodes(revision, 'put certificate')
    },
    async removeCertificate(id) {
      if (!(await readItem(keys.certificate(id)))) return
      // The agents refuse a revision in which an instance uses a certificate that is not there: that would stop every
      // routing change on every node, so it is refused here (retryable: once the instance is routed without it, it goes).
      const users = (await readTree(keys.instances)).flatMap((item) => {
        const parsed = ZRoutedInstance.safeParse(parseJson(item.Value))
        return parsed.success && parsed.data.certificates.some((c) => c.id === id) ? [parsed.data.instanceId] : []
      })
      if (users.length)
        throw new ProvisionerError(
          CONSUL_PROVIDER,
          'remove certificate',
          `certificate ${id} is still used by instance ${users.slice(0, 3).join(', ')}`,
          true,
        )
      const revision = await commit('remove certificate', () => [{ KV: { Verb: 'delete', Key: keys.certificate(id) } }])
      await waitForNodes(revision, 'remove certificate')
    },
    async putChallenge(challenge: HttpChallenge) {
      const next = checked('put challenge', ZRoutedChallenge, { ...challenge, revision: 1 })
      const before = await readParsed(keys.challenge(next.token), ZRoutedChallenge)
      const revision =
        before && JSON.stringify({ ...before, revision: 0 }) === JSON.stringify({ ...next, revision: 0 })
          ? before.revision
          : await commit('put challenge', (r) => [
              { KV: { Verb: 'set', Key: keys.challenge(next.token), Value: b64(JSON.stringify({ ...next, revision: r })) } },
            ])
      await waitForNodes(revision, 'put challenge')
    },
    async removeChallenge(token) {
      if (!(await readItem(keys.challenge(token)))) return
      const revision = await commit('remove challenge', () => [{ KV: { Verb: 'delete', Key: keys.challenge(token) } }])
      await waitForNodes(revision, 'remove challenge')
    },
    async listCertificates() {
      return (await readTree(keys.certificates)).flatMap((item) => {
        const parsed = ZRoutedCertificate.safeParse(parseJson(item.Value))
        return parsed.success ? [{ id: parsed.data.id, fingerprint: parsed.data.fingerprint }] : []
      })
    },
  }

  return {
    kind: 'consul',
    certificates,
    async publish(routing) {
      await waitForNodes(await write(routing), 'publish')
    },
    async sync(routing) {
      await write(routing)
    },
    async remove(instanceId) {
      const existing = await readItem(keys.instance(instanceId))
      if (existing) {
        const revision = await commit('remove', () => [{ KV: { Verb: 'delete', Key: keys.instance(instanceId) } }])
        await syncServices(undefined, instanceId)
        await waitForNodes(revision, 'remove')
      } else {
        await syncServices(undefined, instanceId)
      }
    },
    async forget(instanceId) {
      if (await readItem(keys.instance(instanceId)))
        await commit('remove', () => [{ KV: { Verb: 'delete', Key: keys.instance(instanceId) } }])
      await syncServices(undefined, instanceId)
    },
    async reconcile(desired) {
      const snap = await this.snapshot()
      const registered = new Set(snap.services.map((s) => s.id))
      const plan = planConsulDrift(
        desired.map((d) => routedInstance(d, 1)),
        snap.instances,
        registered,
        (appserverId) => `${options.prefix}-as-${appserverId}`,
      )
      const byId = new Map(desired.map((d) => [d.instanceId, d]))
      for (const id of [...plan.write, ...plan.missingServices]) {
        const routing = byId.get(id)
        if (routing) await write(routing)
      }
      for (const id of plan.remove) await this.forget(id)
      // Services of instances that are not routed at all any more (their key may already be gone).
      const desiredIds = new Set(desired.map((d) => d.instanceId))
      const strays = new Set(snap.services.filter((s) => s.instanceId && !desiredIds.has(s.instanceId)).map((s) => s.instanceId ?? ''))
      for (const id of strays) if (!plan.remove.includes(id)) await syncServices(undefined, id)
      return { written: plan.write, removed: plan.remove, services: plan.missingServices.length }
    },
    async loadBalancers() {
      const [revisionItem, nodes] = await Promise.all([readItem(keys.revision), agents()])
      const revision = ZRoutingRevision.safeParse(parseJson(revisionItem?.Value ?? null))
      return {
        revision: revision.success ? revision.data.revision : null,
        publishedAt: revision.success ? revision.data.publishedAt : null,
        nodes: nodes.sort((a, b) => a.node.localeCompare(b.node)),
      }
    },
    async snapshot() {
      const tree = await readTree(keys.routing)
      const revisionItem = tree.find((i) => i.Key === keys.revision)
      const revision = ZRoutingRevision.safeParse(parseJson(revisionItem?.Value ?? null))
      const under = <T>(prefix: string, schema: z.ZodType<T>): T[] =>
        tree
          .filter((i) => i.Key.startsWith(prefix))
          .flatMap((i) => {
            const parsed = schema.safeParse(parseJson(i.Value))
            return parsed.success ? [parsed.data] : []
          })
      const instances = under(keys.instances, ZRoutedInstance)
      const certificates = under(keys.certificates, ZRoutedCertificate).map(({ keyCiphertext: _k, certificate: _c, ...rest }) => rest)
      const challenges = under(keys.challenges, ZRoutedChallenge)
      const services = (await ourServices()).map((s) => ({ id: s.ID, instanceId: s.Meta?.instanceId, appserverId: s.Meta?.appserverId }))
      return { revision: revision.success ? revision.data : null, instances, certificates, challenges, agents: await agents(), services }
    },
    // The load balancers serve the instance's own hostname: over HTTPS once a certificate covers it.
    siteUrl: (routing) => {
      const host = routing.hostnames[0]
      if (routing.maintenance || !host) return null
      return routing.certificates.some((c) => c.hostnames.includes(host)) ? `https://${host}` : `http://${host}`
    },
    close() {
      consul.destroy()
    },
  }
}
