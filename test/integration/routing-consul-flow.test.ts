import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { systemActor } from '@/lib/auth/actor'
import { createDeployment } from '@/lib/deployments/create-deployment'
import { retireInstance } from '@/lib/deployments/retire-instance'
import { archiveInstance } from '@/lib/instances/archive-instance'
import { getInstanceRouting } from '@/lib/routing/get-instance-routing'
import { loadDesiredRouting } from '@/lib/routing/load-routing'
import { reconcileRouting } from '@/lib/routing/reconcile-routing'
import { consulKeys, ZRoutedInstance } from '@/provisioners/consul/layout'
import { startConsulDouble, type ConsulDouble } from '@/test/fakes/consul/server'
import { startDeployer, type Deployer } from '@/test/support/deployer'
import { waitFor } from './helpers'

/**
 * The product with CONSUL_HTTP_ADDR set: activation publishes through the consul router (no load balancer has
 * reported yet, so nothing is waited for), archiving removes the instance from Consul, and the routing reconciler
 * repairs what was changed by hand.
 */
const staff = systemActor('tests')
let consul: ConsulDouble
let env: Deployer
const prefix = 'tenon-it'
const keys = consulKeys(prefix)

beforeAll(async () => {
  consul = await startConsulDouble()
  env = await startDeployer({ CONSUL_HTTP_ADDR: consul.url, CONSUL_PREFIX: prefix })
})

afterAll(async () => {
  await env?.stop()
  await consul?.stop()
})

const routedIn = (id: string) => {
  const entry = consul.state.get(keys.instance(id))
  return entry ? ZRoutedInstance.parse(JSON.parse(entry.value.toString())) : undefined
}

describe('routing through Consul', () => {
  let instance: { id: string; slug: string; organizationId: string }

  it('activation writes the instance’s routing to Consul and registers its appserver', async () => {
    expect(env.orchestrator.router.kind).toBe('consul')
    instance = await env.createInstance()
    const d = await createDeployment(env.orchestrator, { actor: staff, instanceId: instance.id })
    await waitFor('active', async () => (await env.db.deployment.findUniqueOrThrow({ where: { id: d.id } })).status === 'active', 30_000)
    const routed = routedIn(instance.id)
    expect(routed).toMatchObject({
      slug: instance.slug,
      maintenance: false,
      hostnames: expect.arrayContaining([`${instance.slug}.hosting.test`]),
    })
    expect(routed!.backends).toHaveLength(1)
    expect(consul.state.services().filter((s) => s.meta?.instanceId === instance.id)).toHaveLength(1)
    const view = await getInstanceRouting(env.db, staff, 'consul', env.config.hostingZone, instance.id)
    expect(view).toMatchObject({ router: 'consul', maintenance: false, siteUrl: `http://${instance.slug}.hosting.test` })
  })

  it('loads the desired routing of every routed instance in one pass', async () => {
    const all = await loadDesiredRouting(env.db, env.config.hostingZone)
    expect(all.map((r) => r.instanceId)).toContain(instance.id)
  })

  it('the reconciler rewrites a key deleted by hand', async () => {
    consul.state.delete(keys.instance(instance.id))
    const report = await reconcileRouting(env.orchestrator)
    expect(report).toMatchObject({ written: [instance.id] })
    expect(routedIn(instance.id)).toBeDefined()
  })

  it('archiving removes the instance’s key and services; the reconciler removes a stale key put back by hand', async () => {
    const before = consul.state.get(keys.instance(instance.id))!.value.toString()
    await archiveInstance({ db: env.db, actor: staff, hostingZone: env.config.hostingZone, id: instance.id, confirm: instance.slug })
    await retireInstance(env.orchestrator, instance.id)
    expect(routedIn(instance.id)).toBeUndefined()
    expect(consul.state.services().filter((s) => s.meta?.instanceId === instance.id)).toEqual([])
    consul.state.put(keys.instance(instance.id), before)
    const report = await reconcileRouting(env.orchestrator)
    expect(report).toMatchObject({ removed: [instance.id] })
    expect(routedIn(instance.id)).toBeUndefined()
  })
})
