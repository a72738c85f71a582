import { randomBytes } from 'node:crypto'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { consulKeys, ZAgentReport, ZRoutingRevision, type AgentReport } from '@/provisioners/consul/layout'
import { startConsulDouble, type ConsulDouble } from '../fakes/consul/server'
import { printServerOutputOnFailure, startTestServer, type TestServer } from '../support/server'
import {
  launchBrowser,
  newContext,
  screenshot,
  joinAsClient,
  signInAs,
  apiCall,
  createOrganizationAndInstance,
  type ApiMethod,
  isRecord,
} from './browser'

/**
 * The Load balancers page and an instance's Routing section in a real browser, against the real product configured
 * with the consul router (CONSUL_HTTP_ADDR and an ACL token pointing at the Consul protocol double). The agents'
 * reports are written straight into Consul's KV store, as `npm run lb-agent` does on each HAProxy node, and the page
 * picks them up by refreshing itself (they are not audit events, so no live event announces them). Then a real deploy
 * (local appservers) with one node's agent played by the test: the activation publishes to Consul, waits for that node,
 * and the instance's Routing section follows it live. Its own server and its own Consul, with a prefix of its own; the
 * steps share state and run in order.
 */
const PREFIX = `tenon-e2e-${randomBytes(3).toString('hex')}`
const TOKEN = `token-${randomBytes(8).toString('hex')}`
const KEYS = consulKeys(PREFIX)
const STAFF = { name: 'Lena Balancer', email: 'lena@tenon.test', password: 'staff-password-4' }
const CLIENT = { email: 'cleo@theta.test', password: 'client-password-4' }
const NODE_ERROR = 'haproxy -c rejected the configuration: [ALERT] parsing [/etc/haproxy/tenon/haproxy.cfg:42] unknown keyword'
/** Long enough for the page's own refresh (every 5 s) to come round twice. */
const REFRESH_MS = 15_000
/** How long a deployment may take to become active (a few seconds with the fast timings of E2E_DEPLOY_ENV). */
const DEPLOY_MS = 40_000

let consul: ConsulDouble | undefined
let server: TestServer | undefined
let browser: Browser | undefined
let staff: BrowserContext
let page: Page
const ids = { org: '', instance: '', hostname: '' }

/** A staff API call from the signed-in browser context (same session cookie, same origin). */
function call(method: ApiMethod, route: string, data?: unknown): Promise<Record<string, unknown>> {
  if (!server) throw new Error('no server')
  return apiCall(staff, server.baseUrl, method, route, data)
}

/** Writes a key as an agent does: PUT /v1/kv/<key> with the ACL token. */
async function putKv(key: string, value: unknown): Promise<void> {
  if (!consul) throw new Error('no Consul')
  const response = await fetch(`${consul.url}/v1/kv/${key}`, {
    method: 'PUT',
    headers: { 'x-consul-token': TOKEN },
    body: JSON.stringify(value),
    signal: AbortSignal.timeout(5000),
  })
  expect(await response.text()).toBe('true')
}

const secondsAgo = (s: number) => new Date(Date.now() - s * 1000).toISOString()

function report(fields: Partial<AgentReport> & Pick<AgentReport, 'node' | 'revision' | 'seenRevision'>): AgentReport {
  return ZAgentReport.parse({
    appliedAt: null,
    lagMs: null,
    method: 'none',
    lastError: null,
    lastErrorAt: null,
    lastSeen: secondsAgo(2),
    ...fields,
  })
}

const node = (name: string) => page.getByTestId(`lb-node-${name}`)

/** Reads a key's value as text (null when absent). */
async function getKv(key: string): Promise<string | null> {
  if (!consul) throw new Error('no Consul')
  const response = await fetch(`${consul.url}/v1/kv/${key}?raw`, {
    headers: { 'x-consul-token': TOKEN },
    signal: AbortSignal.timeout(5000),
  })
  if (response.status === 404) return null
  if (!response.ok) throw new Error(`GET ${key}: ${response.status}`)
  return response.text()
}

/**
 * Plays one HAProxy node's agent: applies every revision as soon as it is published and reports it, with a heartbeat,
 * so an activation (which waits for the live nodes) completes. Returns the function that stops it.
 */
function followRevisions(name: string): () => Promise<void> {
  let running = true
  let applied = 7
  const loop = (async () => {
    while (running) {
      const raw = await getKv(KEYS.revision)
      const latest = raw ? ZRoutingRevision.parse(JSON.parse(raw)) : null
      if (latest && latest.revision > applied) applied = latest.revision
      const appliedAt = new Date().toISOString()
      const lagMs = latest && latest.revision === applied ? Date.parse(appliedAt) - Date.parse(latest.publishedAt) : null
      await putKv(KEYS.agent(name), report({ node: name, revision: applied, seenRevision: applied, appliedAt, lagMs, method: 'runtime' }))
      await new Promise((r) => setTimeout(r, 150))
    }
  })()
  return async () => {
    running = false
    await loop
  }
}

describe('load balancers and instance routing in the console, end to end', () => {
  beforeAll(async () => {
    consul = await startConsulDouble({ token: TOKEN })
    server = await startTestServer({ env: { CONSUL_HTTP_ADDR: consul.url, CONSUL_HTTP_TOKEN: TOKEN, CONSUL_PREFIX: PREFIX } })
    browser = await launchBrowser()
    staff = await newContext(browser, server.baseUrl)
    page = await staff.newPage()
  })

  afterEach(printServerOutputOnFailure(() => server))

  afterAll(async () => {
    await browser?.close()
    await server?.stop()
    await consul?.stop()
  })

  it('1. staff find Load balancers in the nav; before any agent reports, the page says to start npm run lb-agent', async () => {
    if (!server) throw new Error('no server')
    await page.goto('/setup')
    await page.getByLabel('Setup code').fill(server.setupCode)
    await page.getByLabel('Your name').fill(STAFF.name)
    await page.getByLabel('Email').fill(STAFF.email)
    await page.getByLabel('Password').fill(STAFF.password)
    await page.getByRole('button', { name: 'Create staff account' }).click()
    await page.waitForURL(/\/instances$/)

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Load balancers' }).click()
    await page.waitForURL(/\/load-balancers$/)
    await page.getByRole('heading', { name: 'No load balancer has reported yet' }).waitFor()
    await page.getByText('npm run lb-agent').waitFor()
    expect(await page.getByTestId('lb-revision').textContent()).toBe('nothing published yet')
    await screenshot(page, 'load-balancers-empty')
  })

  it('2. agent reports written to Consul show up without a reload: statuses, applied revision, how far behind, the error', async () => {
    const publishedAt = secondsAgo(30)
    await putKv(KEYS.revision, ZRoutingRevision.parse({ revision: 7, publishedAt }))
    const appliedAt = secondsAgo(29)
    await putKv(
      KEYS.agent('lb-1'),
      report({ node: 'lb-1', revision: 7, seenRevision: 7, appliedAt, lagMs: 1234, method: 'runtime', lastSeen: secondsAgo(3) }),
    )
    // Read revision 7 but could not apply it: still on 5, with the reason.
    await putKv(
      KEYS.agent('lb-2'),
      report({
        node: 'lb-2',
        revision: 5,
        seenRevision: 7,
        appliedAt: secondsAgo(600),
        lagMs: 850,
        method: 'reload',
        lastError: NODE_ERROR,
        lastErrorAt: secondsAgo(28),
      }),
    )
    // Healthy but not there yet; and one silent for ten minutes (more than LB_AGENT_STALE_SECONDS).
    await putKv(KEYS.agent('lb-3'), report({ node: 'lb-3', revision: 6, seenRevision: 6, appliedAt: secondsAgo(90), method: 'runtime' }))
    await putKv(KEYS.agent('lb-4'), report({ node: 'lb-4', revision: 7, seenRevision: 7, method: 'runtime', lastSeen: secondsAgo(600) }))

    // No navigation: the page refreshes itself.
    await node('lb-1').waitFor({ timeout: REFRESH_MS })
    await page.locator('[data-testid="lb-node-lb-1"][data-status="in-sync"]').waitFor()
    await page.locator('[data-testid="lb-node-lb-2"][data-status="error"]').waitFor()
    await page.locator('[data-testid="lb-node-lb-3"][data-status="behind"]').waitFor()
    await page.locator('[data-testid="lb-node-lb-4"][data-status="down"]').waitFor()
    expect(await page.getByTestId('lb-revision').textContent()).toBe('#7')
    expect(await page.getByTestId('lb-published').textContent()).toContain(`${publishedAt.slice(0, 16).replace('T', ' ')} UTC`)

    expect(await node('lb-1').getByTestId('lb-node-revision').textContent()).toBe('#7')
    await node('lb-1').getByText('1,234 ms').waitFor()
    expect(await node('lb-1').getByTestId('lb-node-method').textContent()).toBe('runtime API')
    expect(await node('lb-1').getByTestId('lb-node-error').textContent()).toBe('—')
    // Last seen is relative, with the absolute time in its title.
    const seen = node('lb-1').getByTestId('lb-node-last-seen').locator('time')
    expect(await seen.textContent()).toMatch(/^\d+ s ago$/)
    expect(await seen.getAttribute('title')).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d UTC$/)

    const lb2 = node('lb-2')
    await lb2.getByTestId('lb-node-revision').getByText('2 behind').waitFor()
    expect(await lb2.getByTestId('lb-node-revision').textContent()).toContain('read #7')
    await lb2.getByText(NODE_ERROR).waitFor()
    expect(await lb2.getByTestId('lb-node-method').textContent()).toBe('reload')
    await node('lb-3').getByText('1 behind').waitFor()
    expect(await node('lb-4').getByTestId('lb-node-last-seen').textContent()).toBe('10 min ago')
    await screenshot(page, 'load-balancers-nodes')

    // The API says the same.
    const api = await call('GET', '/api/v1/load-balancers')
    expect(api.router).toBe('consul')
    expect(api.revision).toBe(7)
    const statuses = Array.isArray(api.nodes) ? api.nodes.filter(isRecord).map((n) => [n.node, n.status, n.behindBy]) : []
    expect(statuses).toEqual([
      ['lb-1', 'in-sync', 0],
      ['lb-2', 'error', 2],
      ['lb-3', 'behind', 1],
      ['lb-4', 'down', 0],
    ])

    // A node that catches up is shown in sync at the next refresh.
    await putKv(
      KEYS.agent('lb-3'),
      report({ node: 'lb-3', revision: 7, seenRevision: 7, appliedAt: secondsAgo(1), lagMs: 40, method: 'runtime' }),
    )
    await page.locator('[data-testid="lb-node-lb-3"][data-status="in-sync"]').waitFor({ timeout: REFRESH_MS })
  })

  it('3. a new instance’s Routing section says it is not routed yet, and names the hostnames a deploy will route', async () => {
    const created = await createOrganizationAndInstance(call, {
      organization: 'Theta College',
      instance: 'Theta Learning',
      contactEmail: 'ops@theta.test',
    })
    ids.org = created.organizationId
    ids.instance = created.instanceId
    ids.hostname = String(created.instance.hostname)

    await page.goto(`/instances/${ids.instance}`)
    const routing = page.getByTestId('routing')
    await routing.getByRole('heading', { name: 'Routing', exact: true }).waitFor()
    await routing.getByTestId('routing-none').getByRole('heading', { name: 'Not routed yet' }).waitFor()
    await routing.getByText('deploy to route its hostnames').waitFor()
    await routing.getByRole('list', { name: 'Hostnames' }).getByText(ids.hostname, { exact: true }).waitFor()
    await routing.getByText('Through the load balancers').waitFor()
    expect(await routing.getByTestId('routing-site').count()).toBe(0)
    await screenshot(page, 'instance-routing-not-routed')

    const api = await call('GET', `/api/v1/instances/${ids.instance}/routing`)
    expect(api).toMatchObject({ router: 'consul', revision: null, maintenance: true, backends: [], siteUrl: null })
    expect(api.hostnames).toContain(ids.hostname)
  })

  it('4. a client member cannot open the Load balancers page (not found, as any staff-only page) but sees the Routing section', async () => {
    if (!server || !browser) throw new Error('no server')
    const invitation = await call('POST', `/api/v1/organizations/${ids.org}/invitations`, { email: CLIENT.email, role: 'member' })
    const { context: client, page: clientPage } = await joinAsClient(browser, server.baseUrl, String(invitation.link), {
      name: 'Cleo Client',
      ...CLIENT,
    })
    try {
      expect(await clientPage.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Load balancers' }).count()).toBe(0)
      expect((await clientPage.goto('/load-balancers'))?.status()).toBe(404)
      expect(await clientPage.getByText('lb-1').count()).toBe(0)
      expect((await clientPage.request.get('/api/v1/load-balancers')).status()).toBe(403)

      await clientPage.goto(`/instances/${ids.instance}`)
      const routing = clientPage.getByTestId('routing')
      await routing.getByRole('heading', { name: 'Not routed yet' }).waitFor()
      expect(await routing.getByRole('link', { name: 'their state' }).count()).toBe(0)
      await screenshot(clientPage, 'instance-routing-client')
      const api: unknown = await (await clientPage.request.get(`/api/v1/instances/${ids.instance}/routing`)).json()
      expect(isRecord(api) && api.backends).toBeNull()
    } finally {
      await client.close()
    }
  })

  it('5. after a deploy, the section follows the activation live: each hostname goes to the active appserver; the load balancers applied it', async () => {
    if (!server || !browser) throw new Error('no server')
    // Only lb-1 still runs (as an agent that applies everything): the others would hold the activation back.
    for (const name of ['lb-2', 'lb-3', 'lb-4']) consul?.state.delete(KEYS.agent(name))
    const stopAgent = followRevisions('lb-1')
    try {
      await page.goto(`/instances/${ids.instance}`)
      await page.locator('[data-live-state="live"]').waitFor()
      await page.getByRole('button', { name: 'Deploy', exact: true }).click()
      const dialog = page.getByRole('dialog')
      await dialog.getByRole('button', { name: 'Start deployment' }).click()
      await dialog.waitFor({ state: 'detached' })

      // No reload: the deployment's events refresh the page.
      const routing = page.getByTestId('routing')
      const active = routing.locator('[data-testid="routing-backend"][data-role="active"]')
      await active.waitFor({ timeout: DEPLOY_MS })
      await page.locator('[data-testid="deployment-1"][data-status="active"]').waitFor({ timeout: DEPLOY_MS })
      const appserverId = (await active.getByRole('link').getAttribute('href'))?.replace('/appservers/', '') ?? ''
      expect(appserverId).toMatch(/^[0-9a-f-]{36}$/)
      await active.getByText(/^http:\/\/127\.0\.0\.1:\d+$/).waitFor()

      const api = await call('GET', `/api/v1/instances/${ids.instance}/routing`)
      expect(api.maintenance).toBe(false)
      expect(api.siteUrl).toBe(`http://${ids.hostname}`)
      const hostnames = Array.isArray(api.hostnames) ? api.hostnames.map(String) : []
      expect(await routing.getByTestId('routing-hostname').count()).toBe(hostnames.length)
      for (const hostname of hostnames) await routing.getByRole('cell', { name: hostname, exact: true }).waitFor()
      await routing.getByTestId('routing-site').getByText(`http://${ids.hostname}`).waitFor()
      expect(await routing.getByTestId('routing-revision').textContent()).toMatch(
        /^Published \d+ times?, last \d{4}-\d\d-\d\d \d\d:\d\d UTC\.$/,
      )
      await screenshot(page, 'instance-routing-routed')

      // What Consul holds for the load balancers is what the section shows.
      const routed: unknown = JSON.parse((await getKv(KEYS.instance(ids.instance))) ?? 'null')
      expect(routed).toMatchObject({ hostnames, maintenance: false, backends: [{ appserverId, role: 'active' }] })

      // The Load balancers page: a newer revision, which lb-1 applied.
      await page.goto('/load-balancers')
      const revision = Number((await page.getByTestId('lb-revision').textContent())?.replace('#', ''))
      expect(revision).toBeGreaterThan(7)
      await page.locator('[data-testid="lb-node-lb-1"][data-status="in-sync"]').waitFor({ timeout: REFRESH_MS })
      expect(await node('lb-1').getByTestId('lb-node-revision').textContent()).toBe(`#${revision}`)
      expect(await page.getByTestId('lb-node-lb-2').count()).toBe(0)
    } finally {
      await stopAgent()
    }

    // A client sees where the hostnames go only as "served": no appserver, no address.
    const client = await newContext(browser, server.baseUrl)
    try {
      const clientPage = await client.newPage()
      await signInAs(clientPage, CLIENT)
      await clientPage.goto(`/instances/${ids.instance}`)
      const routing = clientPage.getByTestId('routing')
      await routing.locator('[data-status="served"]').first().waitFor()
      expect(await routing.getByTestId('routing-backend').count()).toBe(0)
      expect(await routing.getByText('127.0.0.1').count()).toBe(0)
      await screenshot(clientPage, 'instance-routing-client-routed')
    } finally {
      await client.close()
    }
  })
})
