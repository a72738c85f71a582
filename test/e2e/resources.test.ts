import { randomBytes } from 'node:crypto'
import mysql, { type RowDataPacket } from 'mysql2/promise'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createMariadbAdmin, type MariadbAdmin } from '../support/mariadb-admin'
import { printServerOutputOnFailure, startTestServer, type TestServer } from '../support/server'
import { MARIADB, RABBITMQ, requireMariadb, requireRabbitmq } from '../support/services'
import {
  launchBrowser,
  newContext,
  screenshot,
  joinAsClient,
  apiCall,
  createOrganizationAndInstance,
  type ApiMethod,
  isRecord,
} from './browser'

/**
 * Shared clusters and an instance's resources in a real browser against the real product, with the real MariaDB
 * and RabbitMQ of this machine: staff register clusters (a wrong password is refused and nothing is saved), a new
 * instance gets its MySQL databases and RabbitMQ vhost (ready live; MongoDB and S3 not configured), credentials
 * are revealed and rotated (the old ones stop working, a redeploy is offered), a client sees states only, and the
 * archived instance's data is exported and destroyed. Its own server (test/support/server.ts) with an owner tag
 * of its own, so everything it makes on the shared MariaDB and RabbitMQ is found and removed in afterAll, even
 * after a failure. The steps share state and run in order.
 */
const RUN = randomBytes(4).toString('hex')
// The owner tag prefixes every name made on the clusters; the cluster names are independent of it.
const OWNER_TAG = `e2eres${RUN}`
const MYSQL_PREFIX = `${OWNER_TAG}_`
const RABBITMQ_PREFIX = `${OWNER_TAG}-`
const CLUSTER_SUFFIX = randomBytes(3).toString('hex')
const MYSQL_CLUSTER = `mysql-e2e-${CLUSTER_SUFFIX}`
const RABBITMQ_CLUSTER = `rabbitmq-e2e-${CLUSTER_SUFFIX}`
const STAFF = { name: 'Rhea Resources', email: 'rhea@tenon.test', password: 'staff-password-3' }
const CLIENT = { email: 'cora@zeta.test', password: 'client-password-3' }
/** How long background work (ensure, rotation, deploy, export, purge) may take to show up in the page. */
const JOB_MS = 40_000

let server: TestServer | undefined
let browser: Browser | undefined
let staff: BrowserContext
let page: Page
let admin: MariadbAdmin | undefined
const ids = { org: '', instance: '', slug: '', mysqlResource: '', rabbitmqResource: '' }
const names = { mysqlUser: '', mysqlDatabases: [] as string[], vhost: '' }
let revealedPassword = ''

const adminOf = (): MariadbAdmin => {
  if (!admin) throw new Error('no MariaDB administrator')
  return admin
}

const rabbitAuth = 'Basic ' + Buffer.from(`${RABBITMQ.username}:${RABBITMQ.password}`).toString('base64')

/** A staff API call from the signed-in browser context (same session cookie, same origin). */
function call(method: ApiMethod, route: string, data?: unknown): Promise<Record<string, unknown>> {
  if (!server) throw new Error('no server')
  return apiCall(staff, server.baseUrl, method, route, data)
}

async function mysqlObjects(): Promise<{ databases: string[]; users: string[] }> {
  if (!admin) throw new Error('no MariaDB connection')
  const [dbRows] = await admin.root.query<RowDataPacket[]>('SELECT schema_name AS name FROM information_schema.schemata')
  const [userRows] = await admin.root.query<RowDataPacket[]>('SELECT DISTINCT user AS name FROM mysql.user')
  const ours = (rows: RowDataPacket[]) => rows.map((r) => String(r.name)).filter((n) => n.startsWith(MYSQL_PREFIX))
  return { databases: ours(dbRows), users: ours(userRows) }
}

async function rabbit(method: 'GET' | 'DELETE', route: string): Promise<Response> {
  return fetch(`${RABBITMQ.managementUrl}/api/${route}`, {
    method,
    headers: { authorization: rabbitAuth },
    signal: AbortSignal.timeout(10_000),
  })
}

async function rabbitNames(route: 'vhosts' | 'users'): Promise<string[]> {
  const response = await rabbit('GET', route)
  const body: unknown = await response.json()
  if (!Array.isArray(body)) throw new Error(`unexpected ${route} list`)
  return body.flatMap((v) => (isRecord(v) && typeof v.name === 'string' && v.name.startsWith(RABBITMQ_PREFIX) ? [v.name] : []))
}

/** Logs in to MariaDB as the instance would, and says whether it got in. */
async function canLogIn(username: string, password: string): Promise<boolean> {
  try {
    const conn = await mysql.createConnection({ host: MARIADB.host, port: MARIADB.port, user: username, password, connectTimeout: 5000 })
    await conn.query('SELECT 1')
    await conn.end()
    return true
  } catch (err) {
    if (isRecord(err) && err.code === 'ER_ACCESS_DENIED_ERROR') return false
    throw err
  }
}

async function poll(what: string, check: () => Promise<boolean>, timeoutMs = JOB_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 500))
  }
}

const row = (kind: string) => page.getByTestId(`resource-${kind}`)
const waitForResource = (kind: string, state: string, timeout = JOB_MS) =>
  page.locator(`[data-testid="resource-${kind}"][data-state="${state}"]`).waitFor({ timeout })

async function openRegisterDialog() {
  await page.getByRole('button', { name: 'Register cluster' }).click()
  const dialog = page.getByRole('dialog')
  await dialog.getByRole('heading', { name: 'Register cluster' }).waitFor()
  return dialog
}

async function fillMysql(dialog: ReturnType<Page['getByRole']>, password: string) {
  await dialog.getByLabel('Name', { exact: true }).fill(MYSQL_CLUSTER)
  await dialog.getByLabel('Host', { exact: true }).fill(MARIADB.host)
  await dialog.getByLabel('Administrator user', { exact: true }).fill(adminOf().username)
  await dialog.getByLabel('Administrator password', { exact: true }).fill(password)
}

/** Reveals a resource's credentials in the page and returns them by key. */
async function reveal(kindLabel: string): Promise<Record<string, string>> {
  await page.getByRole('button', { name: `Reveal ${kindLabel} credentials` }).click()
  const dialog = page.getByRole('dialog')
  await dialog.getByText('Revealing is recorded in the audit log').waitFor()
  await dialog.getByRole('button', { name: 'Reveal', exact: true }).click()
  const list = dialog.getByRole('definition')
  await dialog.getByTestId('credential-username').waitFor()
  const values: Record<string, string> = {}
  for (const input of await list.locator('input').all()) {
    const key = (await input.getAttribute('aria-label')) ?? ''
    values[key] = await input.inputValue()
  }
  return values
}

async function closeDialog() {
  await page.getByRole('dialog').getByRole('button', { name: 'Close', exact: true }).first().click()
  await page.getByRole('dialog').waitFor({ state: 'detached' })
}

describe('clusters and resources in the console, end to end', () => {
  beforeAll(async () => {
    await requireMariadb()
    await requireRabbitmq()
    admin = await createMariadbAdmin(`e2e${RUN}`)
    server = await startTestServer({ env: { OWNER_TAG } })
    browser = await launchBrowser()
    staff = await newContext(browser, server.baseUrl)
    page = await staff.newPage()
  })

  afterEach(printServerOutputOnFailure(() => server))

  afterAll(async () => {
    const problems: unknown[] = []
    const attempt = async (what: string, fn: () => Promise<unknown>) => {
      try {
        await fn()
      } catch (err) {
        problems.push(err)
        console.error(`cleanup: ${what} failed:`, err)
      }
    }
    if (server && ids.instance) {
      // Through the product first, as an operator would: take the clusters out of placement, archive and purge.
      await attempt('closing the clusters', async () => {
        const list = await call('GET', '/api/v1/clusters')
        for (const c of Array.isArray(list.items) ? list.items : []) {
          if (isRecord(c) && c.acceptsNew === true)
            await call('PATCH', `/api/v1/clusters/${String(c.id)}`, { version: c.version, acceptsNew: false })
        }
      })
      await attempt('archiving and purging the instance', async () => {
        let instance = await call('GET', `/api/v1/instances/${ids.instance}`)
        if (instance.purgedAt) return
        if (instance.status !== 'archived') await call('DELETE', `/api/v1/instances/${ids.instance}?confirm=${ids.slug}`)
        await poll('the final export', async () => {
          instance = await call('GET', `/api/v1/instances/${ids.instance}`)
          return instance.purgeAfter !== null
        })
        if (new Date(String(instance.purgeAfter)) > new Date())
          await call('POST', `/api/v1/instances/${ids.instance}/purge?confirm=${ids.slug}`)
        await poll('the purge', async () => (await call('GET', `/api/v1/instances/${ids.instance}`)).purgedAt !== null)
      })
    }
    await browser?.close().catch((err: unknown) => problems.push(err))
    await server?.stop().catch((err: unknown) => problems.push(err))
    // Then directly, whatever the product did not get to: everything carrying this run's owner tag.
    const conn = admin?.root
    if (admin && conn) {
      await attempt('dropping MariaDB objects', async () => {
        const left = await mysqlObjects()
        for (const db of left.databases) await conn.query(`DROP DATABASE IF EXISTS ${mysql.escapeId(db)}`)
        // Aliased: MariaDB names the columns of its mysql.user view "User" and "Host" whatever the query says.
        const [users] = await conn.query<RowDataPacket[]>('SELECT user AS name, host AS host FROM mysql.user')
        for (const u of users) {
          const name = String(u.name)
          if (name.startsWith(MYSQL_PREFIX)) await conn.query('DROP USER IF EXISTS ?@?', [name, String(u.host)])
        }
      })
      await admin.drop().catch((err: unknown) => problems.push(err))
    }
    await attempt('deleting RabbitMQ objects', async () => {
      for (const vhost of await rabbitNames('vhosts')) await rabbit('DELETE', `vhosts/${encodeURIComponent(vhost)}`)
      for (const user of await rabbitNames('users')) await rabbit('DELETE', `users/${encodeURIComponent(user)}`)
    })
    if (problems.length) console.error(`cleanup finished with ${problems.length} problem(s)`)
  })

  it('1. staff set up the console; the Clusters page explains that instances run on local fallbacks without clusters', async () => {
    if (!server) throw new Error('no server')
    await page.goto('/setup')
    await page.getByLabel('Setup code').fill(server.setupCode)
    await page.getByLabel('Your name').fill(STAFF.name)
    await page.getByLabel('Email').fill(STAFF.email)
    await page.getByLabel('Password').fill(STAFF.password)
    await page.getByRole('button', { name: 'Create staff account' }).click()
    await page.waitForURL(/\/instances$/)

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Clusters' }).click()
    await page.waitForURL(/\/clusters$/)
    await page.getByRole('heading', { name: 'No clusters registered' }).waitFor()
    await page.getByText('instances run with local fallbacks').waitFor()
    await screenshot(page, 'clusters-empty')
  })

  it('2. a MySQL cluster with a wrong password is refused with the reason, next to the connection, and nothing is saved', async () => {
    const dialog = await openRegisterDialog()
    // The kind's defaults are shown, and the connection test is on unless unticked.
    await expect(dialog.getByLabel('Port', { exact: true }).inputValue()).resolves.toBe('3306')
    await expect(dialog.getByLabel('Host part of instance users', { exact: true }).inputValue()).resolves.toBe('%')
    await expect(dialog.getByRole('checkbox', { name: 'Test the connection first' }).getAttribute('aria-checked')).resolves.toBe('true')
    await expect(dialog.getByLabel('Administrator password', { exact: true }).getAttribute('type')).resolves.toBe('password')
    await fillMysql(dialog, 'not-the-password')
    await dialog.getByRole('button', { name: 'Register cluster' }).click()

    const message = dialog.getByTestId('cluster-form-error')
    await message.getByText(/connection test failed/i).waitFor()
    await dialog.locator('#cluster-connection-error').waitFor()
    expect(await message.textContent()).not.toContain('not-the-password')
    await screenshot(page, 'clusters-wrong-password')
    await dialog.getByRole('button', { name: 'Cancel' }).click()
    await dialog.waitFor({ state: 'detached' })

    const list = await call('GET', '/api/v1/clusters')
    expect(list.items).toEqual([])
    await page.getByRole('heading', { name: 'No clusters registered' }).waitFor()
  })

  it('3. with the right password it is listed with load 0 and a passing test; Test connection says so again', async () => {
    const dialog = await openRegisterDialog()
    await fillMysql(dialog, adminOf().password)
    await dialog.getByRole('button', { name: 'Register cluster' }).click()
    await dialog.waitFor({ state: 'detached' })

    const cluster = page.getByTestId(`cluster-${MYSQL_CLUSTER}`)
    await cluster.waitFor()
    await expect(cluster.getByText(`${MARIADB.host}:3306`).count()).resolves.toBe(1)
    await expect(page.getByTestId(`cluster-load-${MYSQL_CLUSTER}`).textContent()).resolves.toBe('0')
    await expect(page.getByTestId(`cluster-accepts-${MYSQL_CLUSTER}`).textContent()).resolves.toBe('yes')
    await page.locator(`[data-testid="cluster-last-test-${MYSQL_CLUSTER}"][data-ok="true"]`).getByText('passed').waitFor()

    await cluster.getByRole('button', { name: `Test connection to ${MYSQL_CLUSTER}` }).click()
    await page.getByTestId(`cluster-test-result-${MYSQL_CLUSTER}`).getByText('Connection OK').waitFor()
  })

  it('4. a RabbitMQ cluster is registered; MongoDB and S3 have none, and the page says what that means', async () => {
    const dialog = await openRegisterDialog()
    await dialog.getByLabel('Kind').selectOption('rabbitmq')
    await expect(dialog.getByLabel('AMQP port', { exact: true }).inputValue()).resolves.toBe('5672')
    await dialog.getByLabel('Name', { exact: true }).fill(RABBITMQ_CLUSTER)
    await dialog.getByLabel('Management API URL', { exact: true }).fill(RABBITMQ.managementUrl)
    await dialog.getByLabel('AMQP host', { exact: true }).fill(RABBITMQ.amqpHost)
    await dialog.getByLabel('Management user', { exact: true }).fill(RABBITMQ.username)
    await dialog.getByLabel('Management password', { exact: true }).fill(RABBITMQ.password)
    await dialog.getByRole('button', { name: 'Register cluster' }).click()
    await dialog.waitFor({ state: 'detached' })

    await page.getByTestId(`cluster-${RABBITMQ_CLUSTER}`).getByText(RABBITMQ.managementUrl).waitFor()
    await page.locator(`[data-testid="cluster-last-test-${RABBITMQ_CLUSTER}"][data-ok="true"]`).waitFor()
    await page.getByTestId('clusters-mongodb-none').getByText('No MongoDB cluster is registered').waitFor()
    await page.getByTestId('clusters-s3-none').getByText('local fallback').waitFor()
    await screenshot(page, 'clusters-registered')
  })

  it('5. a new instance gets MySQL databases and a RabbitMQ vhost, ready live; MongoDB and S3 are not configured', async () => {
    const created = await createOrganizationAndInstance(call, {
      organization: 'Zeta Institute',
      instance: 'Zeta Learning',
      contactEmail: 'ops@zeta.test',
    })
    ids.org = created.organizationId
    ids.instance = created.instanceId
    ids.slug = String(created.instance.slug)

    await page.goto(`/instances/${ids.instance}`)
    await page.locator('[data-live-state="live"]').waitFor()
    await waitForResource('mysql', 'ready')
    await waitForResource('rabbitmq', 'ready')
    await waitForResource('mongodb', 'not configured')
    await waitForResource('s3', 'not configured')
    await row('s3').getByText('local fallback').waitFor()

    // What staff see matches what the API says and what exists on the real servers.
    const resources = await call('GET', `/api/v1/instances/${ids.instance}/resources`)
    const list = Array.isArray(resources.resources) ? resources.resources.filter(isRecord) : []
    const mysqlResource = list.find((r) => r.kind === 'mysql')
    const rabbitResource = list.find((r) => r.kind === 'rabbitmq')
    if (!mysqlResource || !rabbitResource || !isRecord(mysqlResource.names) || !isRecord(rabbitResource.names))
      throw new Error('no resources')
    ids.mysqlResource = String(mysqlResource.id)
    ids.rabbitmqResource = String(rabbitResource.id)
    names.mysqlUser = String(mysqlResource.names.username)
    names.mysqlDatabases = Object.values(isRecord(mysqlResource.names.databases) ? mysqlResource.names.databases : {}).map(String)
    names.vhost = String(rabbitResource.names.vhost)
    expect(names.mysqlUser.startsWith(MYSQL_PREFIX)).toBe(true)
    expect(names.mysqlDatabases.length).toBeGreaterThan(0)

    await row('mysql').getByRole('link', { name: MYSQL_CLUSTER }).waitFor()
    await row('mysql').getByText(names.mysqlUser, { exact: true }).waitFor()
    for (const db of names.mysqlDatabases) await row('mysql').getByText(db, { exact: true }).waitFor()
    await row('rabbitmq').getByRole('link', { name: RABBITMQ_CLUSTER }).waitFor()
    await row('rabbitmq').getByText(names.vhost).first().waitFor()
    const onServer = await mysqlObjects()
    expect(onServer.databases.sort()).toEqual([...names.mysqlDatabases].sort())
    expect(onServer.users).toEqual([names.mysqlUser])
    expect((await rabbit('GET', `vhosts/${encodeURIComponent(names.vhost)}`)).status).toBe(200)
    await screenshot(page, 'resources-ready')

    // "Check again" re-runs ensure on a ready resource; the page follows it back to ready.
    await row('mysql').getByRole('button', { name: 'Check again MySQL' }).click()
    await waitForResource('mysql', 'ready')
    await poll('the second ensure', async () => {
      const audit = await call('GET', `/api/v1/audit?targetType=resource&targetId=${ids.mysqlResource}&action=resource.ready`)
      return Array.isArray(audit.items) && audit.items.length === 2
    })

    await page.goto('/clusters')
    await expect(page.getByTestId(`cluster-load-${MYSQL_CLUSTER}`).textContent()).resolves.toBe('1')
    await expect(page.getByTestId(`cluster-load-${RABBITMQ_CLUSTER}`).textContent()).resolves.toBe('1')
  })

  it('6. Reveal credentials warns that it is audited, then shows the MySQL username and a password that works', async () => {
    await page.goto(`/instances/${ids.instance}`)
    const credentials = await reveal('MySQL')
    expect(credentials.username).toBe(names.mysqlUser)
    expect(credentials.password?.length).toBeGreaterThanOrEqual(20)
    await page.getByRole('dialog').getByRole('button', { name: 'Copy username' }).waitFor()
    await screenshot(page, 'resources-credentials')
    await closeDialog()
    revealedPassword = credentials.password ?? ''
    expect(await canLogIn(names.mysqlUser, revealedPassword)).toBe(true)

    const audit = await call('GET', `/api/v1/audit?targetType=resource&targetId=${ids.mysqlResource}&action=resource.credentials_revealed`)
    expect(Array.isArray(audit.items) ? audit.items.length : 0).toBe(1)
  })

  it('7. a client member of the organization sees the states, but no cluster, names, credentials or actions', async () => {
    if (!server || !browser) throw new Error('no server')
    const invitation = await call('POST', `/api/v1/organizations/${ids.org}/invitations`, { email: CLIENT.email, role: 'member' })
    const { context: client, page: clientPage } = await joinAsClient(browser, server.baseUrl, String(invitation.link), {
      name: 'Cora Client',
      ...CLIENT,
    })
    try {
      expect(await clientPage.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Clusters' }).count()).toBe(0)

      await clientPage.goto(`/instances/${ids.instance}`)
      const resources = clientPage.getByTestId('resources')
      await resources.locator('[data-testid="resource-mysql"][data-state="ready"]').waitFor()
      await resources.locator('[data-testid="resource-rabbitmq"][data-state="ready"]').waitFor()
      await resources.locator('[data-testid="resource-mongodb"][data-state="not configured"]').waitFor()
      await resources.getByText('The hosting team provisions and looks after these').waitFor()
      for (const text of [MYSQL_CLUSTER, RABBITMQ_CLUSTER, names.mysqlUser, names.vhost, ...names.mysqlDatabases]) {
        expect(await clientPage.getByText(text).count()).toBe(0)
      }
      expect(await resources.getByRole('button').count()).toBe(0)
      expect(await resources.getByRole('columnheader', { name: 'Cluster' }).count()).toBe(0)
      await screenshot(clientPage, 'resources-client')

      // The API agrees: states only; credentials and the clusters are staff-only.
      const response = await clientPage.request.get(`/api/v1/instances/${ids.instance}/resources`)
      const body: unknown = await response.json()
      if (!isRecord(body) || !Array.isArray(body.resources)) throw new Error('unexpected resources response')
      for (const r of body.resources.filter(isRecord)) {
        expect(r.cluster).toBeNull()
        expect(r.names).toBeNull()
      }
      const revealed = await clientPage.request.post(`/api/v1/resources/${ids.mysqlResource}/credentials`, {
        data: {},
        headers: { origin: server.baseUrl },
      })
      expect(revealed.status()).toBe(403)
      expect((await clientPage.goto('/clusters'))?.status()).toBe(404)
    } finally {
      await client.close()
    }
  })

  it('8. the page follows resource work done elsewhere live: a rotation started over the API shows up without a reload', async () => {
    await page.goto(`/instances/${ids.instance}`)
    await page.locator('[data-live-state="live"]').waitFor()
    await page.evaluate(() => Object.assign(window, { tenonNoReload: true }))
    expect(await page.getByTestId('resource-rotated-rabbitmq').count()).toBe(0)

    await call('POST', `/api/v1/resources/${ids.rabbitmqResource}/rotate`, {})
    await page.getByTestId('resource-rotated-rabbitmq').getByText('Credentials rotated').waitFor({ timeout: JOB_MS })
    expect(await page.evaluate(() => 'tenonNoReload' in window)).toBe(true)
    // Nothing is deployed yet, so there is nothing to redeploy.
    expect(await page.getByTestId('credentials-redeploy').count()).toBe(0)
  })

  it('9. after a deploy, rotating the MySQL credentials kills the old ones, and the page offers the redeploy that uses the new', async () => {
    await page.getByRole('button', { name: 'Deploy', exact: true }).click()
    let dialog = page.getByRole('dialog')
    await dialog.getByText('Nothing is deployed yet').waitFor()
    await dialog.getByRole('button', { name: 'Start deployment' }).click()
    await dialog.waitFor({ state: 'detached' })
    await page.locator('[data-testid="deployment-1"][data-status="active"]').waitFor({ timeout: JOB_MS })

    await row('mysql').getByRole('button', { name: 'Rotate MySQL credentials' }).click()
    const confirm = page.getByRole('alertdialog')
    await confirm.getByText('The old credentials stop working').waitFor()
    await confirm.getByText('redeploy the instance once it is done', { exact: false }).waitFor()
    await screenshot(page, 'resources-rotate-confirm')
    await confirm.getByRole('button', { name: 'Rotate credentials' }).click()
    await confirm.waitFor({ state: 'detached' })

    await page.getByTestId('resource-rotated-mysql').waitFor({ timeout: JOB_MS })
    const banner = page.getByTestId('credentials-redeploy')
    await banner.getByText('New credentials since deployment #1 — redeploy').waitFor()
    await banner.getByText('MySQL').first().waitFor()
    await screenshot(page, 'resources-redeploy-offer')

    expect(await canLogIn(names.mysqlUser, revealedPassword)).toBe(false)
    const rotated = await reveal('MySQL')
    await closeDialog()
    expect(rotated.username).toBe(names.mysqlUser)
    expect(rotated.password).not.toBe(revealedPassword)
    expect(await canLogIn(names.mysqlUser, rotated.password ?? '')).toBe(true)

    await banner.getByRole('button', { name: 'Redeploy' }).click()
    dialog = page.getByRole('dialog')
    await dialog.getByRole('button', { name: 'Start deployment' }).click()
    await dialog.waitFor({ state: 'detached' })
    await page.locator('[data-testid="deployment-2"][data-status="active"]').waitFor({ timeout: JOB_MS })
    await banner.waitFor({ state: 'detached' })
  })

  it('10. editing a cluster with the password left empty keeps the stored one (the connection test still passes)', async () => {
    await page.goto('/clusters')
    const cluster = page.getByTestId(`cluster-${MYSQL_CLUSTER}`)
    await cluster.getByRole('button', { name: `Edit ${MYSQL_CLUSTER}` }).click()
    const dialog = page.getByRole('dialog')
    await expect(dialog.getByLabel('Host', { exact: true }).inputValue()).resolves.toBe(MARIADB.host)
    await expect(dialog.getByLabel('Administrator password', { exact: true }).inputValue()).resolves.toBe('')
    await dialog.getByLabel('Host', { exact: true }).fill('localhost')
    await dialog.getByRole('button', { name: 'Save changes' }).click()
    await dialog.waitFor({ state: 'detached' })
    await cluster.getByText('localhost:3306').waitFor()
    await page.locator(`[data-testid="cluster-last-test-${MYSQL_CLUSTER}"][data-ok="true"]`).waitFor()
  })

  it('11. archived: the final export is listed, data is kept until a date; Destroy data now (typed slug) deletes it on the servers', async () => {
    await page.goto(`/instances/${ids.instance}`)
    await page.getByRole('button', { name: 'Archive', exact: true }).click()
    let confirm = page.getByRole('alertdialog')
    await confirm.getByLabel('Slug').fill(ids.slug)
    await confirm.getByRole('button', { name: 'Archive instance' }).click()
    await confirm.waitFor({ state: 'detached' })

    const retention = page.getByTestId('retention')
    await retention.getByText(/Data kept until|Final export in progress/).waitFor()
    await retention.getByText(/^Data kept until /).waitFor({ timeout: JOB_MS })
    const exported = page.locator('[data-testid="final-export"][data-state="succeeded"]')
    await exported.waitFor()
    expect(await exported.textContent()).toMatch(/[0-9a-f]{64}/)
    await waitForResource('mysql', 'retained')
    await retention.getByRole('button', { name: 'Restore' }).waitFor()
    await screenshot(page, 'resources-archived')

    await retention.getByRole('button', { name: 'Destroy data now' }).click()
    confirm = page.getByRole('alertdialog')
    const destroy = confirm.getByRole('button', { name: 'Destroy data' })
    await confirm.getByLabel('Slug').fill('not-the-slug')
    expect(await destroy.isDisabled()).toBe(true)
    await confirm.getByLabel('Slug').fill(ids.slug)
    await destroy.click()
    await confirm.waitFor({ state: 'detached' })

    await retention.getByText(/^Data destroyed on /).waitFor({ timeout: JOB_MS })
    await page.getByTestId('destroyed-resource-mysql').waitFor()
    await page.getByTestId('destroyed-resource-rabbitmq').waitFor()
    await screenshot(page, 'resources-purged')
    expect(await mysqlObjects()).toEqual({ databases: [], users: [] })
    expect((await rabbit('GET', `vhosts/${encodeURIComponent(names.vhost)}`)).status).toBe(404)
  })

  it('12. a cluster that destroyed resources refer to cannot be deleted (the API says why); it stops accepting instances instead', async () => {
    await page.goto('/clusters')
    await expect(page.getByTestId(`cluster-load-${MYSQL_CLUSTER}`).textContent()).resolves.toBe('0')
    await page.getByRole('button', { name: `Delete ${MYSQL_CLUSTER}` }).click()
    const confirm = page.getByRole('alertdialog')
    await confirm.getByRole('button', { name: 'Delete cluster' }).click()
    await confirm.getByRole('alert').getByText('set it to not accept new instances instead').waitFor()
    await screenshot(page, 'clusters-delete-refused')
    await confirm.getByRole('button', { name: 'Cancel' }).click()

    for (const name of [MYSQL_CLUSTER, RABBITMQ_CLUSTER]) {
      await page.getByRole('button', { name: `Stop placing new instances on ${name}` }).click()
      await page.getByTestId(`cluster-accepts-${name}`).getByText('no').waitFor()
    }
    await page.getByTestId('clusters-mysql-none').getByText('No MySQL cluster accepts new instances').waitFor()
  })
})
