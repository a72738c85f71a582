import { mkdtemp, rm } from 'node:fs/promises'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { systemActor } from '@/lib/auth/actor'
import { createDeployment } from '@/lib/deployments/create-deployment'
import { EMPTY_ROUTING, startLbAgent } from '@/lb-agent/agent'
import { renderHaproxy } from '@/lb-agent/render'
import { consulKeys, ZRoutedInstance, type RoutedInstance } from '@/provisioners/consul/layout'
import { startConsulDouble, type ConsulDouble } from '@/test/fakes/consul/server'
import { startDeployer, type Deployer } from '@/test/support/deployer'
import { freePort, startHaproxy, testRenderOptions, type StartedHaproxy } from '@/test/support/haproxy'
import { ask, startLoad, type LoadFigures } from '@/test/support/routing-load'
import { waitFor } from './helpers'

/**
 * The acceptance test, through the product: 20 blue/green redeploys of one instance, each activated through
 * the consul router, applied by an lb-agent to a real HAProxy, while constant load runs through that HAProxy. Not one
 * request may fail, and after each switch every new request must reach the new deployment's appserver.
 */
const SWITCHES = 20
const staff = systemActor('tests')
const prefix = `tenon-sw${Date.now().toString(36)}`
const keys = consulKeys(prefix)

let consul: ConsulDouble
let env: Deployer
let haproxy: StartedHaproxy
let agent: ReturnType<typeof startLbAgent>
let configDir: string

beforeAll(async () => {
  consul = await startConsulDouble()
  configDir = await mkdtemp(path.join(os.tmpdir(), 'tenon-switches-'))
  const render = testRenderOptions(configDir, await freePort())
  haproxy = await startHaproxy({ configDir, rendered: renderHaproxy(EMPTY_ROUTING, render) })
  agent = startLbAgent({
    consul: { address: consul.url },
    prefix,
    render,
    haproxy: haproxy.control,
    heartbeatMs: 1000,
    waitMs: 10_000,
    log: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
  })
  await agent.ready()
  // ROLLBACK_KEEP=0: every replaced appserver is drained, taken out of the routing and its process killed, so each
  // switch also exercises removing a server from HAProxy.
  env = await startDeployer({
    CONSUL_HTTP_ADDR: consul.url,
    CONSUL_PREFIX: prefix,
    ROUTING_APPLY_TIMEOUT_SECONDS: '20',
    ROLLBACK_KEEP: '0',
  })
})

afterAll(async () => {
  await agent?.stop()
  await haproxy?.stop()
  await env?.stop()
  await consul?.stop()
  if (configDir) await rm(configDir, { recursive: true, force: true })
})

function routedIn(instanceId: string): RoutedInstance | undefined {
  const entry = consul.state.get(keys.instance(instanceId))
  return entry ? ZRoutedInstance.parse(JSON.parse(entry.value)) : undefined
}

/** Deploys the instance and waits until the deployment is active; answers its (only) appserver's id. */
async function deploy(instanceId: string): Promise<string> {
  const created = await createDeployment(env.orchestrator, { actor: staff, instanceId })
  const d = await waitFor(
    `deployment ${created.id} active`,
    async () => {
      const row = await env.db.deployment.findUniqueOrThrow({ where: { id: created.id }, include: { appservers: true } })
      if (row.status === 'failed' || row.status === 'cancelled') throw new Error(`deployment ${row.status}: ${row.error}`)
      return row.status === 'active' ? row : null
    },
    30_000,
  )
  expect(d.appservers).toHaveLength(1)
  return d.appservers[0]!.id
}

/** Requests one after the other on kept-alive connections: the appservers that answered them. */
async function burst(hostname: string, count: number): Promise<string[]> {
  const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 2 })
  try {
    const answers = await Promise.all(Array.from({ length: count }, () => ask(haproxy.port, hostname, { agent: keepAlive })))
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200))
    return answers.map((a) => a.appserver)
  } finally {
    keepAlive.destroy()
  }
}

describe('blue/green switches through Consul, the lb-agent and HAProxy', () => {
  it(`${SWITCHES} redeploys under constant load: no failed request, and each switch moves every new request`, async () => {
    const instance = await env.createInstance()
    const firstAppserver = await deploy(instance.id)
    const hostname = routedIn(instance.id)?.hostnames[0]
    expect(hostname).toBeTruthy()
    if (!hostname) return
    await waitFor('HAProxy serves the instance', async () => (await ask(haproxy.port, hostname)).appserver === firstAppserver)

    // 6 connections at 150 requests per second: well under what the two cores serve, with the product's worker, the
    // appservers, HAProxy and the agent all on them.
    const load = startLoad({ port: haproxy.port, host: hostname, connections: 6, rate: 150 })
    let figures: LoadFigures | undefined
    const appservers = [firstAppserver]
    try {
      await waitFor('load running', async () => load.answered() > 100)
      for (let i = 0; i < SWITCHES; i++) {
        const appserverId = await deploy(instance.id)
        appservers.push(appserverId)
        // Activation waited for the node's report; the agent says the same of itself.
        const routed = routedIn(instance.id)
        expect(routed?.backends.filter((b) => b.role === 'active').map((b) => b.appserverId)).toEqual([appserverId])
        expect(agent.applied().revision).toBeGreaterThanOrEqual(routed?.revision ?? Infinity)
        expect(new Set(await burst(hostname, 20))).toEqual(new Set([appserverId]))
      }
      // A second more of load on the last appserver, so the load's own answers show it took over too.
      await new Promise((resolve) => setTimeout(resolve, 1000))
    } finally {
      figures = await load.stop()
    }

    console.log(
      `routing switches: ${SWITCHES} switches, ${figures.requests} requests in ${figures.seconds} s ` +
        `(errors ${figures.errors}, timeouts ${figures.timeouts}, non-2xx ${figures.non2xx}, lost ${figures.lost}, ` +
        `lost after Connection: close ${figures.lostAfterClose}; latency p50 ${figures.latency.p50} ms, p99 ${figures.latency.p99} ms, ` +
        `max ${figures.latency.max} ms); answered by ${Object.keys(figures.byAppserver).length} appservers`,
    )
    expect({ errors: figures.errors, timeouts: figures.timeouts, non2xx: figures.non2xx, lost: figures.lost }).toEqual({
      errors: 0,
      timeouts: 0,
      non2xx: 0,
      lost: 0,
    })
    expect(figures.statusCodes).toEqual({ '200': figures.requests })
    // The load itself followed the switches: only this instance's appservers answered it, and the last one did.
    expect(Object.keys(figures.byAppserver).every((id) => appservers.includes(id))).toBe(true)
    expect(figures.byAppserver[appservers[appservers.length - 1]!]).toBeGreaterThan(0)
  }, 180_000)
})
