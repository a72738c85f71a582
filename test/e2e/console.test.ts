import { execFile } from 'node:child_process'
import path from 'node:path'
import { promisify } from 'node:util'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { launchBrowser, newContext, screenshot } from './browser'

/**
 * One journey through the console in a real browser against the real product (built and started by
 * test/support/global-server.ts on a fresh database). The steps share state and run in order.
 */
const ROOT = path.resolve(import.meta.dirname, '../..')
const baseUrl = inject('baseUrl')
const STAFF = { name: 'Sam Staff', email: 'staff@tenon.test', password: 'staff-password-1' }
const CLIENT = { name: 'Cleo Client', email: 'cleo@acme.test', password: 'client-password-1' }
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'

const run = promisify(execFile)

let browser: Browser
let staff: BrowserContext
let client: BrowserContext
let staffPage: Page
let clientPage: Page
const ids = { orgA: '', orgB: '', instanceA: '', instanceB: '' }

const idFrom = (url: string, kind: 'organizations' | 'instances') => {
  const match = new RegExp(`/${kind}/(${UUID})`).exec(url)
  if (!match?.[1]) throw new Error(`no ${kind} id in ${url}`)
  return match[1]
}

async function createOrganization(page: Page, name: string): Promise<string> {
  await page.goto('/organizations')
  await page.getByRole('button', { name: 'New organization' }).click()
  const dialog = page.getByRole('dialog')
  await dialog.getByLabel('Name').fill(name)
  await dialog.getByRole('button', { name: 'Create organization' }).click()
  await page.waitForURL(new RegExp(`/organizations/${UUID}$`))
  await page.getByRole('heading', { level: 1, name }).waitFor()
  return idFrom(page.url(), 'organizations')
}

async function instanceCount(page: Page): Promise<number> {
  const response = await page.request.get('/api/v1/instances')
  expect(response.status()).toBe(200)
  const body: unknown = await response.json()
  if (typeof body !== 'object' || body === null || !('items' in body) || !Array.isArray(body.items))
    throw new Error('unexpected list response')
  return body.items.length
}

describe('the console, end to end', () => {
  beforeAll(async () => {
    browser = await launchBrowser()
    staff = await newContext(browser, baseUrl)
    staffPage = await staff.newPage()
  })

  afterAll(async () => {
    await browser?.close()
  })

  it('a. sends the first visitor to setup, which creates the staff account with the code from the log', async () => {
    await staffPage.goto('/')
    await staffPage.waitForURL(/\/setup$/)
    await staffPage.getByRole('heading', { name: 'Set up Tenon' }).waitFor()
    await screenshot(staffPage, 'setup')

    // A wrong code is refused next to the field, and creates nothing.
    await staffPage.getByLabel('Setup code').fill('AAAAA-BBBBB-CCCCC-DDDDD')
    await staffPage.getByLabel('Your name').fill(STAFF.name)
    await staffPage.getByLabel('Email').fill(STAFF.email)
    await staffPage.getByLabel('Password').fill(STAFF.password)
    await staffPage.getByRole('button', { name: 'Create staff account' }).click()
    await staffPage.locator('#code-error').getByText('is not the setup code').waitFor()

    await staffPage.getByLabel('Setup code').fill(inject('setupCode'))
    await staffPage.getByRole('button', { name: 'Create staff account' }).click()
    await staffPage.waitForURL(/\/instances$/)
    await staffPage.getByText('No instances yet').waitFor()
    await expect(staffPage.getByRole('link', { name: 'Create instance' }).isVisible()).resolves.toBe(true)
    await expect(staffPage.getByTestId('current-user').textContent()).resolves.toBe(STAFF.email)
    await staffPage.getByText('Staff', { exact: true }).waitFor()
    await screenshot(staffPage, 'instances-empty')

    // Setup is over: the page now sends people to sign in.
    const other = await newContext(browser, baseUrl)
    const page = await other.newPage()
    await page.goto('/setup')
    await page.waitForURL(/\/sign-in$/)
    await other.close()
  })

  it('a2. sign-in refuses a wrong password with a clear message', async () => {
    const context = await newContext(browser, baseUrl)
    const page = await context.newPage()
    await page.goto('/instances')
    // The sign-in page remembers where the user was going.
    await page.waitForURL(/\/sign-in\?next=%2Finstances$/)
    await page.getByLabel('Email').fill(STAFF.email)
    await page.getByLabel('Password').fill('not-the-password')
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByText('Wrong email or password').waitFor()
    await screenshot(page, 'sign-in')
    await context.close()
  })

  it('b. staff create two organizations', async () => {
    ids.orgA = await createOrganization(staffPage, 'Acme University')
    ids.orgB = await createOrganization(staffPage, 'Beta College')
    await staffPage.goto('/organizations')
    const table = staffPage.getByRole('table', { name: 'Organizations' })
    await table.getByRole('link', { name: 'Acme University' }).waitFor()
    await table.getByRole('link', { name: 'Beta College' }).waitFor()
    await screenshot(staffPage, 'organizations')
  })

  it('c. staff invite a client owner, who accepts in another browser and is signed in', async () => {
    await staffPage.goto(`/organizations/${ids.orgA}`)
    await staffPage.getByLabel('Email').fill(CLIENT.email)
    await staffPage.getByLabel('Role').selectOption('owner')
    await staffPage.getByRole('button', { name: 'Send invitation' }).click()
    const linkBox = staffPage.getByTestId('invitation-link')
    await linkBox.waitFor()
    const link = await linkBox.inputValue()
    expect(link).toMatch(new RegExp(`^${baseUrl}/invite/[A-Za-z0-9_-]+$`))
    await staffPage.getByText('printed to the server log').waitFor()
    await staffPage.getByRole('table', { name: 'Invitations' }).getByText('pending').waitFor()
    await screenshot(staffPage, 'organization-invitation')

    client = await newContext(browser, baseUrl)
    clientPage = await client.newPage()
    await clientPage.goto(link)
    await clientPage.getByRole('heading', { name: 'Join Acme University' }).waitFor()
    await clientPage.getByText(CLIENT.email).first().waitFor()
    // Too short a password is caught next to the field.
    await clientPage.getByLabel('Your name').fill(CLIENT.name)
    await clientPage.getByLabel('Choose a password').fill('short')
    await clientPage.getByRole('button', { name: 'Create account and join' }).click()
    await clientPage.locator('#password-error').getByText('at least 10 characters').waitFor()
    await screenshot(clientPage, 'invitation-accept')
    await clientPage.getByLabel('Choose a password').fill(CLIENT.password)
    await clientPage.getByRole('button', { name: 'Create account and join' }).click()
    await clientPage.waitForURL(/\/instances$/)
    await expect(clientPage.getByTestId('current-user').textContent()).resolves.toBe(CLIENT.email)

    // The link is used up.
    await clientPage.goto(link)
    await clientPage.getByText('This invitation can no longer be used').waitFor()
  })

  it('d. staff create one instance in each organization, with a live slug preview and inline errors', async () => {
    await staffPage.goto('/instances/new')
    await staffPage.getByLabel('Organization').selectOption(ids.orgA)
    await staffPage.getByLabel('Name', { exact: true }).fill('Acme Learning')
    await expect.poll(() => staffPage.getByLabel('Slug').inputValue(), { timeout: 10_000 }).toBe('acme-learning')
    await expect(staffPage.getByLabel('Platform name').inputValue()).resolves.toBe('Acme Learning')
    await staffPage.getByText('acme-learning.instances.localhost').waitFor()

    // An invalid contact email is refused next to the field, and nothing is created.
    await staffPage.getByLabel('Contact email').fill('not-an-email')
    await staffPage.getByLabel('Certificates').click()
    await staffPage.getByLabel('Extra settings (YAML)').fill('LANGUAGE_CODE: fr\nFEATURES:\n  ENABLE_COURSEWARE_SEARCH: true\n')
    await screenshot(staffPage, 'new-instance')
    await staffPage.getByRole('button', { name: 'Create instance' }).click()
    const emailError = staffPage.locator('#contactEmail-error')
    await emailError.waitFor()
    expect(await emailError.textContent()).toMatch(/Contact email .*email address/)
    await expect(staffPage.getByLabel('Contact email').getAttribute('aria-invalid')).resolves.toBe('true')
    expect(staffPage.url()).toMatch(/\/instances\/new$/)
    expect(await instanceCount(staffPage)).toBe(0)
    await screenshot(staffPage, 'new-instance-error')

    await staffPage.getByLabel('Contact email').fill('support@acme.test')
    await staffPage.getByRole('button', { name: 'Create instance' }).click()
    await staffPage.waitForURL(new RegExp(`/instances/${UUID}$`))
    ids.instanceA = idFrom(staffPage.url(), 'instances')
    await staffPage.getByTestId('instance-name').getByText('Acme Learning').waitFor()
    await staffPage.getByText('acme-learning.instances.localhost').first().waitFor()
    await staffPage.getByText('Certificates: off').waitFor()
    await staffPage.getByText('LANGUAGE_CODE: fr').waitFor()
    await staffPage.getByRole('table', { name: 'Recent changes' }).getByText('instance.created').waitFor()
    await screenshot(staffPage, 'instance-detail')

    // A taken slug is flagged while typing.
    await staffPage.goto('/instances/new')
    await staffPage.getByLabel('Organization').selectOption(ids.orgB)
    await staffPage.getByLabel('Name', { exact: true }).fill('Acme Learning')
    await expect.poll(() => staffPage.getByLabel('Slug').inputValue(), { timeout: 10_000 }).toBe('acme-learning-2')
    await staffPage.getByLabel('Slug').fill('acme-learning')
    await staffPage.locator('#slug-error').getByText('already taken').waitFor()

    await staffPage.getByLabel('Name', { exact: true }).fill('Beta Campus')
    await staffPage.getByLabel('Slug').fill('beta-campus')
    await staffPage.getByLabel('Platform name').fill('Beta Campus')
    await staffPage.getByLabel('Contact email').fill('help@beta.test')
    await staffPage.getByRole('button', { name: 'Create instance' }).click()
    await staffPage.waitForURL(new RegExp(`/instances/${UUID}$`))
    ids.instanceB = idFrom(staffPage.url(), 'instances')

    await staffPage.goto('/instances')
    const table = staffPage.getByRole('table', { name: 'Instances' })
    await table.getByRole('link', { name: 'Acme Learning' }).waitFor()
    await table.getByRole('link', { name: 'Beta Campus' }).waitFor()
    await screenshot(staffPage, 'instances')

    // Filters are a GET form; a filter that matches nothing offers to clear them.
    await staffPage.getByLabel('Search').fill('no-such-thing')
    await staffPage.getByRole('button', { name: 'Filter' }).click()
    await staffPage.waitForURL(/q=no-such-thing/)
    await staffPage.getByText('No instances match these filters').waitFor()
    await staffPage.getByRole('main').getByRole('link', { name: 'Clear filters' }).last().click()
    await staffPage.waitForURL(/\/instances$/)
    await staffPage.goto(`/instances?organizationId=${ids.orgB}`)
    await table.getByRole('link', { name: 'Beta Campus' }).waitFor()
    expect(await table.getByRole('link', { name: 'Acme Learning' }).count()).toBe(0)
  })

  it("e. the client sees only their organization's instance, read-only, and a 404 for the other", async () => {
    await clientPage.goto('/instances')
    const table = clientPage.getByRole('table', { name: 'Instances' })
    await table.getByRole('link', { name: 'Acme Learning' }).waitFor()
    expect(await table.getByRole('link', { name: 'Beta Campus' }).count()).toBe(0)
    expect(await clientPage.getByRole('link', { name: 'New instance' }).count()).toBe(0)
    await screenshot(clientPage, 'client-instances')

    const response = await clientPage.goto(`/instances/${ids.instanceB}`)
    expect(response?.status()).toBe(404)
    await clientPage.getByRole('heading', { name: 'Page not found' }).waitFor()
    expect(await clientPage.getByText('Beta Campus').count()).toBe(0)
    await screenshot(clientPage, 'client-not-found')

    await clientPage.goto(`/instances/${ids.instanceA}`)
    await clientPage.getByTestId('instance-name').getByText('Acme Learning').waitFor()
    expect(await clientPage.getByRole('link', { name: 'Edit' }).count()).toBe(0)
    expect(await clientPage.getByRole('button', { name: 'Archive' }).count()).toBe(0)
    // An owner reads the history of their instance.
    await clientPage.getByRole('table', { name: 'Recent changes' }).waitFor()

    await clientPage.goto('/organizations')
    await clientPage.getByRole('link', { name: 'Acme University' }).waitFor()
    expect(await clientPage.getByText('Beta College').count()).toBe(0)

    // As an owner the client reads their organization's audit log, and nothing of the others.
    await clientPage.goto('/audit')
    const audit = clientPage.getByRole('table', { name: 'Audit log' })
    await audit.getByText('instance.created').first().waitFor()
    expect(await audit.getByText('Beta Campus').count()).toBe(0)
    expect(await audit.getByText('Beta College').count()).toBe(0)
    await screenshot(clientPage, 'client-audit-log')
  })

  it("f. a staff edit appears on the client's open page without a reload", async () => {
    await clientPage.goto(`/instances/${ids.instanceA}`)
    await clientPage.locator('[data-live-state="live"]').waitFor()
    await clientPage.evaluate(() => Reflect.set(window, '__tenonNoReload', true))

    await staffPage.goto(`/instances/${ids.instanceA}/edit`)
    await staffPage.getByLabel('Name', { exact: true }).fill('Acme Learning Platform')
    await staffPage.getByRole('button', { name: 'Save changes' }).click()
    await staffPage.waitForURL(new RegExp(`/instances/${ids.instanceA}$`))
    await staffPage.getByTestId('instance-name').getByText('Acme Learning Platform').waitFor()

    await clientPage.getByTestId('instance-name').getByText('Acme Learning Platform').waitFor({ timeout: 20_000 })
    expect(await clientPage.evaluate(() => Reflect.get(window, '__tenonNoReload'))).toBe(true)
  })

  it('f2. saving over someone else’s change shows their values and can load them', async () => {
    const first = await staff.newPage()
    await first.goto(`/instances/${ids.instanceA}/edit`)
    const second = await staff.newPage()
    await second.goto(`/instances/${ids.instanceA}/edit`)
    await second.getByLabel('Platform name').fill('Acme Academy')
    await second.getByRole('button', { name: 'Save changes' }).click()
    await second.waitForURL(new RegExp(`/instances/${ids.instanceA}$`))

    await first.getByLabel('Contact email').fill('learners@acme.test')
    await first.getByRole('button', { name: 'Save changes' }).click()
    const conflict = first.getByTestId('conflict')
    await conflict.getByText('This instance was changed by someone else').waitFor()
    await conflict.getByText('Acme Academy').waitFor()
    await screenshot(first, 'edit-conflict')
    // The user's typing is kept until they choose to load the current values.
    await expect(first.getByLabel('Contact email').inputValue()).resolves.toBe('learners@acme.test')
    await conflict.getByRole('button', { name: 'Load current values' }).click()
    await expect(first.getByLabel('Platform name').inputValue()).resolves.toBe('Acme Academy')
    await expect(first.getByLabel('Contact email').inputValue()).resolves.toBe('support@acme.test')
    await first.close()
    await second.close()
  })

  it('g. an API token from the admin CLI creates an organization and an instance that the console shows', async () => {
    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', 'scripts/admin.ts', 'create-token', '--email', STAFF.email, '--name', 'e2e'],
      {
        cwd: ROOT,
        env: { ...process.env, DATABASE_URL: inject('serverDatabaseUrl'), LOG_LEVEL: 'warn' },
        timeout: 60_000,
      },
    )
    const token = stdout.trim().split('\n').pop() ?? ''
    expect(token).not.toBe('')
    const call = async (method: string, route: string, body?: unknown) => {
      const response = await fetch(`${baseUrl}${route}`, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      })
      const json: unknown = await response.json()
      return { status: response.status, id: typeof json === 'object' && json !== null && 'id' in json ? String(json.id) : null }
    }
    const org = await call('POST', '/api/v1/organizations', { name: 'Gamma Institute' })
    expect(org.status).toBe(201)
    const instance = await call('POST', '/api/v1/instances', {
      organizationId: org.id,
      name: 'Gamma Academy',
      settings: { contactEmail: 'help@gamma.test' },
    })
    expect(instance.status).toBe(201)

    await staffPage.goto('/instances')
    await staffPage.getByRole('table', { name: 'Instances' }).getByRole('link', { name: 'Gamma Academy' }).waitFor()
    await staffPage.goto('/organizations')
    await staffPage.getByRole('table', { name: 'Organizations' }).getByRole('link', { name: 'Gamma Institute' }).waitFor()

    await staffPage.goto('/tokens')
    const tokens = staffPage.getByRole('table', { name: 'API tokens' })
    await tokens.getByText('e2e', { exact: true }).waitFor()
    await staffPage.getByLabel('Token name').fill('ci deploys')
    await staffPage.getByRole('button', { name: 'Create token' }).click()
    await expect(staffPage.getByTestId('token-value').inputValue()).resolves.toMatch(/\S{20,}/)
    await tokens.getByText('ci deploys').waitFor()
    await screenshot(staffPage, 'tokens')

    await staffPage.goto('/audit')
    const audit = staffPage.getByRole('table', { name: 'Audit log' })
    await audit.getByText('instance.updated').first().waitFor()
    await audit.getByText('Gamma Institute').first().waitFor()
    await screenshot(staffPage, 'audit-log')
    await staffPage.getByLabel('Action').fill('instance.created')
    await staffPage.getByRole('button', { name: 'Filter' }).click()
    await staffPage.waitForURL(/action=instance.created/)
    expect(await audit.getByText('organization.created').count()).toBe(0)
  })

  it('h. staff archive an instance after typing its slug', async () => {
    await staffPage.goto(`/instances/${ids.instanceB}`)
    await staffPage.getByRole('button', { name: 'Archive' }).click()
    const dialog = staffPage.getByRole('alertdialog')
    const confirm = dialog.getByRole('button', { name: 'Archive instance' })
    await expect(confirm.isDisabled()).resolves.toBe(true)
    await dialog.getByLabel('Slug').fill('beta')
    await expect(confirm.isDisabled()).resolves.toBe(true)
    await dialog.getByLabel('Slug').fill('beta-campus')
    await expect(confirm.isEnabled()).resolves.toBe(true)
    await screenshot(staffPage, 'archive-dialog')
    await confirm.click()
    await staffPage.getByTestId('archived-banner').waitFor()
    expect(await staffPage.getByRole('link', { name: 'Edit' }).count()).toBe(0)
    await staffPage.goto('/instances?status=archived')
    await staffPage.getByRole('table', { name: 'Instances' }).getByRole('link', { name: 'Beta Campus' }).waitFor()
  })

  it('i. an existing user accepts a second invitation with one click; a pending invitation can be revoked; sign out', async () => {
    await staffPage.goto(`/organizations/${ids.orgB}`)
    await staffPage.getByLabel('Email').fill(CLIENT.email)
    await staffPage.getByRole('button', { name: 'Send invitation' }).click()
    const link = await staffPage.getByTestId('invitation-link').inputValue()

    await clientPage.goto(link)
    await clientPage.getByRole('heading', { name: 'Join Beta College' }).waitFor()
    await clientPage.getByRole('button', { name: 'Accept invitation' }).click()
    await clientPage.waitForURL(/\/instances$/)
    await clientPage.getByRole('table', { name: 'Instances' }).getByRole('link', { name: 'Beta Campus' }).waitFor()

    await staffPage.getByLabel('Email').fill('nobody@beta.test')
    await staffPage.getByRole('button', { name: 'Send invitation' }).click()
    const invitations = staffPage.getByRole('table', { name: 'Invitations' })
    const row = invitations.getByRole('row').filter({ hasText: 'nobody@beta.test' })
    await row.getByText('pending').waitFor()
    await row.getByRole('button', { name: 'Revoke' }).click()
    await staffPage.getByRole('alertdialog').getByRole('button', { name: 'Revoke invitation' }).click()
    await row.getByText('revoked').waitFor()

    await clientPage.getByRole('button', { name: 'Sign out' }).click()
    await clientPage.waitForURL(/\/sign-in$/)
    await clientPage.goto('/instances?status=new')
    await clientPage.waitForURL(/\/sign-in\?next=%2Finstances%3Fstatus%3Dnew$/)
  })

  it('j. repeated wrong passwords hit the sign-in rate limit, which the page explains', async () => {
    const context = await newContext(browser, baseUrl)
    const page = await context.newPage()
    await page.goto('/sign-in')
    const alert = page.locator('form [role="alert"]')
    for (let attempt = 0; attempt < 10; attempt++) {
      await page.getByLabel('Email').fill(STAFF.email)
      await page.getByLabel('Password').fill(`wrong-password-${attempt}`)
      await page.getByRole('button', { name: 'Sign in' }).click()
      await page.getByRole('button', { name: 'Sign in' }).waitFor()
      await alert.waitFor()
      if ((await alert.textContent())?.includes('Too many attempts')) break
    }
    await expect(alert.textContent()).resolves.toContain('Too many attempts, wait a minute')
    await context.close()
  })
})
