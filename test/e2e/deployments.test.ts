import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { printServerOutputOnFailure, startTestServer, type TestServer } from '../support/server'
import { launchBrowser, newContext, screenshot, joinAsClient, isRecord } from './browser'

/**
 * The deployment journey in a real browser against the real product with the default (local) VM driver:
 * deploy, open the site, redeploy with a settings diff, watch the old appserver drain and go, roll back,
 * what a client sees, and a rollout. Its own server (test/support/server.ts: fast lifecycle timings,
 * ROLLBACK_KEEP=1), because the first-run setup of the shared one belongs to console.test.ts, and files
 * may run in either order. The steps share state and run in order.
 */
const STAFF = { name: 'Dana Deployer', email: 'dana@tenon.test', password: 'staff-password-2' }
const CLIENT = { email: 'carl@delta.test', password: 'client-password-2' }
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/
/** How long a deployment may take to show up as done in the page (a few seconds with the fast timings). */
const DEPLOY_MS = 40_000

let server: TestServer
let browser: Browser
let staff: BrowserContext
let page: Page
const ids = { orgA: '', orgB: '', instanceA: '', instanceB: '', appserver1: '', appserver2: '', appserverB: '' }

/** A staff API call from the signed-in browser context (same session cookie, same origin). */
async function post(route: string, data: unknown): Promise<Record<string, unknown>> {
  const response = await staff.request.post(route, { data, headers: { origin: server.baseUrl } })
  const body: unknown = await response.json()
  if (!response.ok() || !isRecord(body)) throw new Error(`POST ${route}: ${response.status()} ${JSON.stringify(body)}`)
  return body
}

const deployment = (n: number) => page.getByTestId(`deployment-${n}`)

async function waitForDeployment(n: number, status: string, timeout = DEPLOY_MS) {
  await page.locator(`[data-testid="deployment-${n}"][data-status="${status}"]`).waitFor({ timeout })
}

async function waitForAppserver(deploymentNumber: number, index: number, state: string, timeout = DEPLOY_MS) {
  await page.locator(`[data-testid="appserver-${deploymentNumber}-${index}"][data-state="${state}"]`).waitFor({ timeout })
}

async function appserverId(deploymentNumber: number, index = 1): Promise<string> {
  const href = await page.getByRole('link', { name: `Appserver ${index} of deployment #${deploymentNumber}` }).getAttribute('href')
  const id = UUID.exec(href ?? '')?.[0]
  if (!id) throw new Error(`no appserver id in ${href}`)
  return id
}

/** Follows the console's "Open site" link (a new tab) and returns what the site says. */
async function openSite(): Promise<{ title: string; servedBy: string }> {
  const [site] = await Promise.all([staff.waitForEvent('page'), page.getByTestId('open-site').click()])
  await site.waitForLoadState()
  const title = (await site.getByRole('heading', { level: 1 }).textContent()) ?? ''
  const servedBy = (await site.getByText('Served by appserver').textContent()) ?? ''
  await screenshot(site, 'deployments-site')
  await site.close()
  return { title, servedBy }
}

describe('deployments in the console, end to end', () => {
  beforeAll(async () => {
    server = await startTestServer()
    browser = await launchBrowser()
    staff = await newContext(browser, server.baseUrl)
    page = await staff.newPage()
  })

  afterEach(printServerOutputOnFailure(() => server))

  afterAll(async () => {
    await browser?.close()
    await server?.stop()
  })

  it('1. staff set up the console; two organizations with one instance each', async () => {
    await page.goto('/setup')
    await page.getByLabel('Setup code').fill(server.setupCode)
    await page.getByLabel('Your name').fill(STAFF.name)
    await page.getByLabel('Email').fill(STAFF.email)
    await page.getByLabel('Password').fill(STAFF.password)
    await page.getByRole('button', { name: 'Create staff account' }).click()
    await page.waitForURL(/\/instances$/)

    const orgA = await post('/api/v1/organizations', { name: 'Delta University' })
    const orgB = await post('/api/v1/organizations', { name: 'Epsilon College' })
    ids.orgA = String(orgA.id)
    ids.orgB = String(orgB.id)
    const a = await post('/api/v1/instances', {
      organizationId: ids.orgA,
      name: 'Delta Learning',
      settings: { contactEmail: 'ops@delta.test' },
    })
    // An empty platform name: its appserver starts but never reports healthy, so its deployment stays building a while.
    const b = await post('/api/v1/instances', {
      organizationId: ids.orgB,
      name: 'Epsilon Campus',
      settings: { contactEmail: 'ops@epsilon.test' },
      extraSettings: 'PLATFORM_NAME: ""\n',
    })
    ids.instanceA = String(a.id)
    ids.instanceB = String(b.id)
  })

  it('2. Deploy shows the configuration to be frozen, builds an appserver, and the site opens from the console', async () => {
    await page.goto(`/instances/${ids.instanceA}`)
    await page.getByText('Not deployed yet').waitFor()
    await page.getByTestId('serving').getByText('is not served yet').waitFor()
    expect(await page.getByTestId('open-site').count()).toBe(0)

    await page.getByRole('button', { name: 'Deploy', exact: true }).click()
    const dialog = page.getByRole('dialog')
    await dialog.getByText('Nothing is deployed yet').waitFor()
    const changes = dialog.getByRole('table', { name: 'Changes' })
    await changes.getByRole('row').filter({ hasText: 'PLATFORM_NAME' }).getByText('Delta Learning').waitFor()
    // Secrets are masked by the server before they reach the page.
    await changes.getByText('••••••').first().waitFor()
    await screenshot(page, 'deployments-first-deploy')
    await dialog.getByRole('button', { name: 'Start deployment' }).click()
    await dialog.waitFor({ state: 'detached' })

    // The page follows the deployment live (no reload): building, then active.
    await page.locator('[data-live-state="live"]').waitFor()
    await waitForDeployment(1, 'active')
    await waitForAppserver(1, 1, 'active')
    await page.getByTestId('serving').getByText('is served by deployment #1').waitFor()
    ids.appserver1 = await appserverId(1)

    const site = await openSite()
    expect(site.title).toBe('Delta Learning')
    expect(site.servedBy).toContain(ids.appserver1)
    await screenshot(page, 'deployments-active')
  })

  it('3. after a settings change, a banner offers to redeploy; the dialog shows the diff; traffic moves to the new appserver', async () => {
    await page.goto(`/instances/${ids.instanceA}/edit`)
    await page.getByLabel('Platform name').fill('Delta Academy')
    await page.getByRole('button', { name: 'Save changes' }).click()
    await page.waitForURL(new RegExp(`/instances/${ids.instanceA}$`))

    const banner = page.getByTestId('settings-changed')
    await banner.getByText('Settings changed since deployment #1 — redeploy to apply').waitFor()
    await banner.getByRole('button', { name: 'Redeploy' }).click()
    const dialog = page.getByRole('dialog')
    await dialog.getByText('1 change compared with deployment #1').waitFor()
    const row = dialog.getByRole('table', { name: 'Changes' }).getByRole('row').filter({ hasText: 'PLATFORM_NAME' })
    await row.getByText('Delta Learning').waitFor()
    await row.getByText('Delta Academy').waitFor()
    await screenshot(page, 'deployments-redeploy-diff')
    await dialog.getByRole('button', { name: 'Start deployment' }).click()
    await dialog.waitFor({ state: 'detached' })

    await waitForDeployment(2, 'active')
    await waitForAppserver(2, 1, 'active')
    ids.appserver2 = await appserverId(2)
    expect(ids.appserver2).not.toBe(ids.appserver1)
    // The replaced appserver drains, then is kept running (inactive) for a rollback.
    await waitForDeployment(1, 'superseded')
    await waitForAppserver(1, 1, 'inactive')
    expect(await banner.count()).toBe(0)

    const site = await openSite()
    expect(site.title).toBe('Delta Academy')
    expect(site.servedBy).toContain(ids.appserver2)
  })

  it('4. a redeploy without changes says so; with one deployment kept for rollback, the first appserver is terminated', async () => {
    await page.getByRole('button', { name: 'Redeploy', exact: true }).click()
    const dialog = page.getByRole('dialog')
    await dialog.getByTestId('no-changes').getByText('No changes since deployment #2').waitFor()
    await dialog.getByRole('button', { name: 'Start deployment' }).click()
    await dialog.waitFor({ state: 'detached' })

    await waitForDeployment(3, 'active')
    await waitForAppserver(2, 1, 'inactive')
    await waitForAppserver(1, 1, 'terminated')
    await waitForDeployment(1, 'terminated')
    await screenshot(page, 'deployments-three')

    // The first appserver's page: its whole life, in order, and its frozen configuration with secrets masked.
    await page.goto(`/appservers/${ids.appserver1}`)
    await page.getByTestId('appserver-title').getByText('Appserver 1 of deployment #1').waitFor()
    await page.getByTestId('appserver-state').getByText('terminated').waitFor()
    const timeline = page.getByRole('list', { name: 'State changes' })
    const states = await timeline.locator('[data-status]').evaluateAll((els) => els.map((e) => e.getAttribute('data-status')))
    expect(states).toEqual([
      'provisioning',
      'configuring',
      'starting',
      'healthy',
      'active',
      'draining',
      'inactive',
      'terminating',
      'terminated',
    ])
    const log = page.getByRole('log', { name: 'Appserver log' })
    await log.getByText('Started appserver process').waitFor()
    await log.getByText('terminating → terminated').waitFor()
    const configuration = page.getByRole('table', { name: 'Frozen configuration' })
    await configuration.getByRole('row').filter({ hasText: 'PLATFORM_NAME' }).getByText('Delta Learning').waitFor()
    await configuration.getByText('••••••').first().waitFor()
    await screenshot(page, 'deployments-appserver')
  })

  it('5. Roll back brings the kept appserver back and the traffic with it', async () => {
    await page.goto(`/instances/${ids.instanceA}`)
    await page.getByRole('button', { name: 'Roll back to previous' }).click()
    const dialog = page.getByRole('alertdialog')
    await dialog.getByText('Roll back to deployment #2?').waitFor()
    await screenshot(page, 'deployments-rollback-dialog')
    await dialog.getByRole('button', { name: 'Roll back now' }).click()
    await dialog.waitFor({ state: 'detached' })

    await waitForDeployment(2, 'active')
    await waitForAppserver(2, 1, 'active')
    await waitForDeployment(3, 'superseded')
    await page.getByTestId('serving').getByText('is served by deployment #2').waitFor()
    // No new appserver: the same one took the traffic back.
    expect(await appserverId(2)).toBe(ids.appserver2)
    expect(await page.getByTestId('deployment-4').count()).toBe(0)
    const site = await openSite()
    expect(site.title).toBe('Delta Academy')
    expect(site.servedBy).toContain(ids.appserver2)
    await screenshot(page, 'deployments-rolled-back')
  })

  it('6. a second deployment while one is building is refused with the reason; a building deployment can be cancelled', async () => {
    await page.goto(`/instances/${ids.instanceB}`)
    await page.getByRole('button', { name: 'Deploy', exact: true }).click()
    let dialog = page.getByRole('dialog')
    await dialog.getByRole('button', { name: 'Start deployment' }).click()
    await dialog.waitFor({ state: 'detached' })
    await waitForDeployment(1, 'building')
    ids.appserverB = await appserverId(1)

    await page.getByRole('button', { name: 'Redeploy', exact: true }).click()
    dialog = page.getByRole('dialog')
    await dialog.getByRole('button', { name: 'Start deployment' }).click()
    await dialog.getByRole('alert').getByText('already in progress').waitFor()
    await screenshot(page, 'deployments-conflict')
    await dialog.getByRole('button', { name: 'Cancel', exact: true }).click()

    await deployment(1).getByRole('button', { name: 'Cancel deployment #1' }).click()
    const confirm = page.getByRole('alertdialog')
    await confirm.getByRole('button', { name: 'Cancel deployment' }).click()
    await waitForDeployment(1, 'cancelled')
    await waitForAppserver(1, 1, 'terminated')
    await deployment(1).getByText('cancelled by staff').waitFor()
  })

  it('7. a client sees the deployments but no actions, and a 404 for another organization’s appserver', async () => {
    // The client joins Delta University through an invitation, accepted over the API as a new account.
    const invitation = await post(`/api/v1/organizations/${ids.orgA}/invitations`, { email: CLIENT.email, role: 'member' })
    const { context: client, page: clientPage } = await joinAsClient(browser, server.baseUrl, String(invitation.link), {
      name: 'Carl Client',
      ...CLIENT,
    })
    expect(await clientPage.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Rollouts' }).count()).toBe(0)

    await clientPage.goto(`/instances/${ids.instanceA}`)
    await clientPage.locator('[data-testid="deployment-2"][data-status="active"]').waitFor()
    await clientPage.getByTestId('deployment-3').waitFor()
    await clientPage.getByTestId('open-site').waitFor()
    for (const name of ['Deploy', 'Redeploy', 'Roll back to previous']) {
      expect(await clientPage.getByRole('button', { name, exact: true }).count()).toBe(0)
    }
    expect(await clientPage.getByRole('button', { name: /Cancel deployment/ }).count()).toBe(0)
    await screenshot(clientPage, 'deployments-client')

    // Their own appserver: state and transitions, no address, no configuration, no provisioning output.
    await clientPage.goto(`/appservers/${ids.appserver2}`)
    await clientPage.getByTestId('appserver-state').getByText('active').waitFor()
    // Twice: once when it was first deployed, once when the rollback checked it again.
    await clientPage.getByRole('log', { name: 'Appserver log' }).getByText('starting → healthy').first().waitFor()
    expect(await clientPage.getByText('Frozen configuration').count()).toBe(0)
    expect(await clientPage.getByText('Started appserver process').count()).toBe(0)
    for (const term of ['Address', 'External id', 'Health check']) expect(await clientPage.getByText(term, { exact: true }).count()).toBe(0)

    const response = await clientPage.goto(`/appservers/${ids.appserverB}`)
    expect(response?.status()).toBe(404)
    await clientPage.getByRole('heading', { name: 'Page not found' }).waitFor()
    expect((await clientPage.goto('/rollouts'))?.status()).toBe(404)
    await client.close()
  })

  it('8. staff start a rollout: a selection that matches nothing is refused; one that matches redeploys and completes', async () => {
    await page.goto('/rollouts')
    await page.getByText('No rollouts yet').waitFor()
    await page.getByRole('button', { name: 'New rollout' }).click()
    const dialog = page.getByRole('dialog')
    await dialog.getByLabel('Organization').selectOption(ids.orgA)
    await dialog.getByLabel('Release').selectOption('redwood.3')
    await dialog.getByRole('button', { name: 'Start rollout' }).click()
    await dialog.getByRole('alert').getByText('The selection matches no instance').waitFor()
    await screenshot(page, 'deployments-rollout-empty-selection')

    await dialog.getByLabel('Release').selectOption('')
    await dialog.getByLabel('Concurrency').fill('2')
    await dialog.getByRole('button', { name: 'Start rollout' }).click()
    await page.waitForURL(new RegExp(`/rollouts/${UUID.source}$`))
    const items = page.getByRole('table', { name: 'Rollout instances' })
    await items.getByRole('link', { name: 'Delta Learning' }).waitFor()
    await page.getByRole('heading', { level: 1 }).locator('[data-status="completed"]').waitFor({ timeout: DEPLOY_MS })
    await items.locator('[data-status="succeeded"]').waitFor()
    await expect(page.getByRole('progressbar', { name: 'Rollout progress' }).getAttribute('aria-valuenow')).resolves.toBe('1')
    await screenshot(page, 'deployments-rollout')

    await page.goto('/rollouts')
    const rollouts = page.getByRole('table', { name: 'Rollouts' })
    await rollouts.getByText('Delta University').waitFor()
    await rollouts.locator('[data-status="completed"]').waitFor()

    await page.goto(`/instances/${ids.instanceA}`)
    await waitForDeployment(4, 'active')
    await deployment(4).getByText('rollout', { exact: true }).waitFor()
  })
})
