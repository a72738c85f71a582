import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { certificateCorpus, type Corpus } from '../support/certificate-corpus'
import { startPebble, type Pebble } from '../support/pebble'
import { printServerOutputOnFailure, startTestServer, type TestServer } from '../support/server'
import {
  apiCall,
  apiRequest,
  createOrganizationAndInstance,
  isRecord,
  joinAsClient,
  launchBrowser,
  newContext,
  screenshot,
  type ApiMethod,
} from './browser'

/**
 * Custom domains and certificates in a real browser against the real product. Its own server, whose DNS checks go to
 * pebble-challtestsrv's mock DNS (DNS_RESOLVERS), so the test publishes the client's TXT record there and the product
 * really finds it; and whose ACME directory is a real Pebble. There are no load balancers (direct router), so the
 * HTTP-01 order for a verified custom domain really fails, which is what the banner and the Certificates page are for.
 * Then the client uploads their own certificate (PEM files, then a PKCS#12 bundle read in the browser), a client of
 * another organization finds nothing, and staff remove the domain. The steps share state and run in order.
 */
const STAFF = { name: 'Dora Domains', email: 'dora@tenon.test', password: 'staff-password-5' }
const OWNER = { name: 'Kai Client', email: 'kai@kappa.test', password: 'client-password-5' }
const STRANGER = { name: 'Lou Stranger', email: 'lou@lambda.test', password: 'client-password-6' }
/** Covered by the certificate corpus's leaves (shop.example.test and www.shop.example.test). */
const HOSTNAME = 'shop.example.test'
/** How long a job's outcome (a check, an order) may take to reach the page. */
const JOB_MS = 30_000

let pebble: Pebble | undefined
let server: TestServer | undefined
let browser: Browser | undefined
let staff: BrowserContext
let page: Page
let corpus: Corpus
let caDir: string | undefined
const ids = { org: '', instance: '', instanceHostname: '', domain: '', token: '', certificate: '' }

/** An API call from a signed-in browser context (same session cookie, same origin); answers status and body. */
function request(context: BrowserContext, method: ApiMethod, route: string, data?: unknown) {
  if (!server) throw new Error('no server')
  return apiRequest(context, server.baseUrl, method, route, data)
}

/** A staff API call that must succeed. */
function call(method: ApiMethod, route: string, data?: unknown): Promise<Record<string, unknown>> {
  if (!server) throw new Error('no server')
  return apiCall(staff, server.baseUrl, method, route, data)
}

async function domainsOf(instanceId: string) {
  const body = await call('GET', `/api/v1/instances/${instanceId}/domains`)
  return Array.isArray(body.domains) ? body.domains.filter(isRecord) : []
}

async function certificates() {
  const body = await call('GET', '/api/v1/certificates')
  return { items: Array.isArray(body.items) ? body.items.filter(isRecord) : [], failing: body.failing }
}

async function poll<T>(what: string, check: () => Promise<T | null | undefined | false>, timeoutMs = JOB_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 300))
  }
}

const domainCard = (p: Page, state?: string) =>
  p.locator(`[data-testid="custom-domain"][data-hostname="${HOSTNAME}"]${state ? `[data-state="${state}"]` : ''}`)

const pemFile = (name: string, text: string) => ({ name, mimeType: 'application/x-pem-file', buffer: Buffer.from(text) })

describe('custom domains and certificates in the console, end to end', () => {
  beforeAll(async () => {
    const [started, generated] = await Promise.all([startPebble(), certificateCorpus()])
    pebble = started
    corpus = generated
    caDir = await mkdtemp(path.join(os.tmpdir(), 'tenon-e2e-acme-'))
    const caBundle = path.join(caDir, 'pebble-ca.pem')
    await writeFile(caBundle, pebble.caBundle)
    server = await startTestServer({
      env: {
        DNS_RESOLVERS: `127.0.0.1:${pebble.dnsPort}`,
        ACME_DIRECTORY_URL: pebble.directoryUrl,
        ACME_CA_BUNDLE: caBundle,
        ACME_EMAIL: 'ops@tenon.test',
      },
    })
    browser = await launchBrowser()
    staff = await newContext(browser, server.baseUrl)
    page = await staff.newPage()
  })

  afterEach(printServerOutputOnFailure(() => server))

  afterAll(async () => {
    await browser?.close()
    await server?.stop()
    await pebble?.close()
    if (caDir) await rm(caDir, { recursive: true, force: true })
  })

  it('1. staff set up the console and create an instance: its page lists its own hostnames and no custom domains yet', async () => {
    if (!server) throw new Error('no server')
    await page.goto('/setup')
    await page.getByLabel('Setup code').fill(server.setupCode)
    await page.getByLabel('Your name').fill(STAFF.name)
    await page.getByLabel('Email').fill(STAFF.email)
    await page.getByLabel('Password').fill(STAFF.password)
    await page.getByRole('button', { name: 'Create staff account' }).click()
    await page.waitForURL(/\/instances$/)

    const created = await createOrganizationAndInstance(call, {
      organization: 'Kappa University',
      instance: 'Kappa Learning',
      contactEmail: 'ops@kappa.test',
    })
    ids.org = created.organizationId
    ids.instance = created.instanceId
    ids.instanceHostname = String(created.instance.hostname)

    await page.goto(`/instances/${ids.instance}`)
    const section = page.getByTestId('domains')
    await section.getByRole('heading', { name: 'Domains', exact: true }).waitFor()
    const own = section.getByRole('table', { name: 'Instance hostnames' })
    await own.getByRole('cell', { name: ids.instanceHostname, exact: true }).waitFor()
    await own.getByRole('cell', { name: `studio.${ids.instanceHostname}`, exact: true }).waitFor()
    // No DNS provider is configured here, so the hosting zone's records are not managed; nor is any certificate ordered for them.
    const rows = own.getByTestId('instance-hostname')
    expect(await rows.count()).toBeGreaterThanOrEqual(2)
    for (const row of await rows.all()) expect(await row.getAttribute('data-dns')).toBe('unmanaged')
    await own.getByText('Not issued yet').first().waitFor()
    // ACME is configured: the "not issued automatically" note is not shown.
    expect(await section.getByTestId('domains-no-acme').count()).toBe(0)
    await section.getByTestId('domains-empty').getByRole('heading', { name: 'No custom domains yet' }).waitFor()
    await screenshot(page, 'domains-empty')
  })

  it('2. adding a domain: a bad hostname is refused next to the field; a good one shows the TXT record and its token, then waits', async () => {
    await page.getByRole('button', { name: 'Add domain' }).click()
    const dialog = page.getByRole('dialog')
    await dialog.getByRole('heading', { name: 'Add a custom domain' }).waitFor()

    await dialog.getByLabel('Hostname').fill('https://shop.example.test/catalog')
    await dialog.getByRole('button', { name: 'Add domain' }).click()
    await dialog.locator('#domain-hostname-error').getByText('must be a hostname, not a URL').waitFor()
    expect(await dialog.getByLabel('Hostname').getAttribute('aria-invalid')).toBe('true')
    await dialog.getByLabel('Hostname').fill(`learn.${ids.instanceHostname}`)
    await dialog.getByRole('button', { name: 'Add domain' }).click()
    await dialog.locator('#domain-hostname-error').getByText('is under the hosting zone').waitFor()
    await screenshot(page, 'domains-add-error')
    expect(await domainsOf(ids.instance)).toEqual([])

    // Written as people do (capitals, a trailing dot); the API keeps the normalised name.
    await dialog.getByLabel('Hostname').fill('Shop.Example.TEST.')
    await dialog.getByRole('button', { name: 'Add domain' }).click()
    const added = dialog.getByTestId('domain-added')
    await added.getByRole('heading', { name: `Create these DNS records for ${HOSTNAME}` }).waitFor()
    const [domain] = await domainsOf(ids.instance)
    expect(domain).toMatchObject({ hostname: HOSTNAME, state: 'pending' })
    ids.domain = String(domain?.id)
    const records = Array.isArray(domain?.records) ? domain.records.filter(isRecord) : []
    ids.token = String(records.find((r) => r.type === 'TXT')?.value)
    expect(ids.token).toMatch(/^tenon-verify=[A-Za-z0-9_-]+$/)

    const table = added.getByRole('table', { name: `DNS records for ${HOSTNAME}` })
    expect(await table.getByLabel('TXT record name', { exact: true }).inputValue()).toBe(`_tenon-challenge.${HOSTNAME}`)
    expect(await table.getByLabel('TXT record value', { exact: true }).inputValue()).toBe(ids.token)
    expect(await table.getByLabel('CNAME record name', { exact: true }).inputValue()).toBe(HOSTNAME)
    expect(await table.getByLabel('CNAME record value', { exact: true }).inputValue()).toBe(ids.instanceHostname)
    await table.getByRole('button', { name: 'Copy txt record value' }).waitFor()
    await screenshot(page, 'domains-records')
    await added.getByRole('button', { name: 'Done' }).click()
    await dialog.waitFor({ state: 'detached' })

    // The same name again: the API's 409 names the field.
    await page.getByRole('button', { name: 'Add domain' }).click()
    await dialog.getByLabel('Hostname').fill(HOSTNAME)
    await dialog.getByRole('button', { name: 'Add domain' }).click()
    await dialog.locator('#domain-hostname-error').getByText('is already added').waitFor()
    await dialog.getByRole('button', { name: 'Cancel' }).click()

    const card = domainCard(page, 'pending')
    await card.waitFor()
    await card.getByTestId('domain-next-check').getByText('Next check').waitFor()
    expect(await card.getByLabel('TXT record value', { exact: true }).inputValue()).toBe(ids.token)
    // The first check runs at once and finds nothing; the page reads it again after the check, without a reload.
    await card.getByTestId('domain-last-check').getByText(`no TXT record at _tenon-challenge.${HOSTNAME} yet`).waitFor({ timeout: JOB_MS })
    expect(await card.getByTestId('domain-points-here').getAttribute('data-points-here')).toBe('false')
    await card.getByText('Ordered automatically once it is verified').waitFor()
    await screenshot(page, 'domains-pending')
  })

  it('3. once the client publishes the records, "Check now" verifies the domain; its HTTP-01 order fails without load balancers, and staff see a banner', async () => {
    if (!pebble) throw new Error('no Pebble')
    await pebble.setTxt(`_tenon-challenge.${HOSTNAME}`, ids.token)
    await pebble.addA(ids.instanceHostname, ['127.0.0.1'])
    await pebble.addA(HOSTNAME, ['127.0.0.1'])

    await page.locator('[data-live-state="live"]').waitFor()
    await domainCard(page, 'pending')
      .getByRole('button', { name: `Check now: ${HOSTNAME}` })
      .click()
    const card = domainCard(page, 'verified')
    await card.waitFor({ timeout: JOB_MS })
    expect(await card.getByTestId('domain-points-here').getAttribute('data-points-here')).toBe('true')
    expect(await card.getByRole('button', { name: /^Check now/ }).count()).toBe(0)

    // Verified, so a certificate is ordered: by HTTP-01, which needs load balancers this installation does not have. The
    // failed attempt writes no event; the page reads it again once the order was due to run.
    const certificate = card.locator('[data-testid="certificate-details"][data-source="acme"]')
    await certificate.getByTestId('certificate-error').getByText('HTTP-01 needs load balancers').waitFor({ timeout: JOB_MS })
    await page.getByTestId('certificates-banner').getByText('1 certificate needs attention').waitFor({ timeout: JOB_MS })
    await screenshot(page, 'domains-verified-certificate-failed')
  })

  it('4. the Certificates page lists the failing certificate first, with its error; Retry orders it again', async () => {
    await page.getByTestId('certificates-banner').click()
    await page.waitForURL(/\/certificates$/)
    await page.getByRole('heading', { level: 1, name: 'Certificates' }).waitFor()
    const row = page.locator('[data-testid="certificate"][data-attention="true"]')
    await row.waitFor()
    expect(await row.getAttribute('data-source')).toBe('acme')
    await row.getByRole('link', { name: 'Kappa Learning' }).waitFor()
    await row.getByText(`custom domain ${HOSTNAME}`).waitFor()
    await row.getByTestId('certificate-last-error').getByText('HTTP-01 needs load balancers').waitFor()

    const before = await certificates()
    expect(before.failing).toBe(1)
    const item = before.items[0]
    expect(item).toMatchObject({ source: 'acme', hostnames: [HOSTNAME], domain: { id: ids.domain, hostname: HOSTNAME } })
    ids.certificate = String(item?.id)
    const lastAttempt = String(item?.lastAttemptAt)
    expect(await row.getAttribute('data-last-attempt')).toBe(lastAttempt)

    await row.getByRole('button', { name: `Retry the certificate for ${HOSTNAME}` }).click()
    // The order really runs again (a later attempt), and fails the same way: the cause is not fixed. The page shows it.
    const after = await poll('a second attempt', async () => {
      const again = (await certificates()).items.find((c) => c.id === ids.certificate)
      return again && again.lastError && Date.parse(String(again.lastAttemptAt)) > Date.parse(lastAttempt) ? again : null
    })
    expect(String(after.lastError)).toContain('HTTP-01 needs load balancers')
    await page.locator(`[data-testid="certificate"][data-last-attempt="${String(after.lastAttemptAt)}"]`).waitFor({ timeout: JOB_MS })
    await page.getByTestId('certificate-last-error').getByText('HTTP-01 needs load balancers').waitFor()
    await screenshot(page, 'certificates-failing')
  })

  it('5. the client uploads their own certificate: problems are named next to their field; good PEM files replace the failing order', async () => {
    if (!server || !browser) throw new Error('no server')
    const invitation = await call('POST', `/api/v1/organizations/${ids.org}/invitations`, { email: OWNER.email, role: 'member' })
    const { context: client, page: clientPage } = await joinAsClient(browser, server.baseUrl, String(invitation.link), OWNER)
    try {
      // Clients have neither the page nor the banner.
      expect(await clientPage.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Certificates' }).count()).toBe(0)
      expect(await clientPage.getByTestId('certificates-banner').count()).toBe(0)
      expect((await clientPage.goto('/certificates'))?.status()).toBe(404)

      await clientPage.goto(`/instances/${ids.instance}`)
      const card = domainCard(clientPage, 'verified')
      await card.waitFor()
      await card.getByRole('button', { name: `Upload certificate for ${HOSTNAME}` }).click()
      const dialog = clientPage.getByRole('dialog')
      await dialog.getByRole('heading', { name: `Upload a certificate for ${HOSTNAME}` }).waitFor()

      // Pasted: a certificate that expired ten days ago. The API's answer lands on the certificate field.
      const expired = corpus.bad.expired.upload
      if (expired.format !== 'pem') throw new Error('expected a PEM entry')
      await dialog.getByLabel('Certificate', { exact: true }).fill(expired.certificate)
      await dialog.getByLabel('Chain (optional)', { exact: true }).fill(expired.chain ?? '')
      await dialog.getByLabel('Private key', { exact: true }).fill(expired.privateKey)
      await dialog.getByRole('button', { name: 'Upload certificate' }).click()
      await dialog.locator(`#upload-${ids.domain}-certificate-error`).getByText('expired on').waitFor()
      await screenshot(clientPage, 'domains-upload-error')

      // From files: the good leaf, its intermediate and its key.
      const good = corpus.good.rsa.upload
      if (good.format !== 'pem') throw new Error('expected a PEM entry')
      await dialog.getByLabel('Certificate: load from a file').setInputFiles(pemFile('shop.crt', good.certificate))
      await dialog.getByLabel('Chain (optional): load from a file').setInputFiles(pemFile('chain.pem', good.chain ?? ''))
      await dialog.getByLabel('Private key: load from a file').setInputFiles(pemFile('shop.key', good.privateKey))
      await poll(
        'the files to be read',
        async () => (await dialog.getByLabel('Private key', { exact: true }).inputValue()) === good.privateKey,
      )
      expect(await dialog.getByLabel('Certificate', { exact: true }).inputValue()).toBe(good.certificate)
      await dialog.getByRole('button', { name: 'Upload certificate' }).click()
      await dialog.waitFor({ state: 'detached' })

      const uploaded = card.locator('[data-testid="certificate-details"][data-source="uploaded"][data-state="valid"]')
      await uploaded.waitFor({ timeout: JOB_MS })
      await uploaded.getByTestId('certificate-issuer').getByText('Tenon Test Intermediate CA').waitFor()
      await uploaded.getByText(/^Expires in \d+ d/).waitFor()
      await screenshot(clientPage, 'domains-uploaded')
    } finally {
      await client.close()
    }

    // The failing ACME order is gone with the upload: no banner, and the page lists the uploaded certificate, without Retry.
    const list = await certificates()
    expect(list.failing).toBe(0)
    expect(list.items.map((c) => [c.source, c.state, c.hostnames])).toEqual([['uploaded', 'valid', [HOSTNAME, `www.${HOSTNAME}`]]])
    await page.goto('/certificates')
    const row = page.locator('[data-testid="certificate"][data-source="uploaded"]')
    await row.waitFor()
    expect(await row.getAttribute('data-attention')).toBe('false')
    expect(await row.getByRole('button', { name: /^Retry/ }).count()).toBe(0)
    expect(await page.getByTestId('certificates-banner').count()).toBe(0)
    await screenshot(page, 'certificates-uploaded')
  })

  it('6. a PKCS#12 bundle is read in the browser: a wrong password is named on its field; the right one replaces the certificate', async () => {
    const bundle = corpus.good.pkcs12.upload
    if (bundle.format !== 'pkcs12') throw new Error('expected a PKCS#12 entry')
    const before = (await domainsOf(ids.instance))[0]?.certificate
    if (!isRecord(before)) throw new Error('no certificate before the PKCS#12 upload')

    await page.goto(`/instances/${ids.instance}`)
    const card = domainCard(page, 'verified')
    await card.getByRole('button', { name: `Upload certificate for ${HOSTNAME}` }).click()
    const dialog = page.getByRole('dialog')
    await dialog.getByText('It replaces the current certificate.').waitFor()
    await dialog.getByRole('tab', { name: 'PKCS#12' }).click()
    await dialog
      .getByLabel('PKCS#12 file (.pfx, .p12)')
      .setInputFiles({ name: 'shop.p12', mimeType: 'application/x-pkcs12', buffer: bundle.bundle })
    await dialog.getByText('Read shop.p12.').waitFor()
    await dialog.getByLabel('Password', { exact: true }).fill('not the password')
    await dialog.getByRole('button', { name: 'Upload certificate' }).click()
    await dialog.locator(`#upload-${ids.domain}-password-error`).waitFor()
    await screenshot(page, 'domains-upload-pkcs12-error')

    await dialog.getByLabel('Password', { exact: true }).fill(bundle.password)
    await dialog.getByRole('button', { name: 'Upload certificate' }).click()
    await dialog.waitFor({ state: 'detached' })
    const after = await poll('the new certificate', async () => {
      const cert = (await domainsOf(ids.instance))[0]?.certificate
      return isRecord(cert) && cert.id !== before.id ? cert : null
    })
    expect(after).toMatchObject({ source: 'uploaded', state: 'valid', issuer: 'Tenon Test Intermediate CA' })
    await card.locator('[data-testid="certificate-details"][data-source="uploaded"]').waitFor()
  })

  it('7. a client of another organization finds nothing: the API answers 404 for the domains and each action, and the page does not exist', async () => {
    if (!server || !browser) throw new Error('no server')
    const other = await call('POST', '/api/v1/organizations', { name: 'Lambda College' })
    const invitation = await call('POST', `/api/v1/organizations/${String(other.id)}/invitations`, { email: STRANGER.email, role: 'owner' })
    const { context: stranger, page: strangerPage } = await joinAsClient(browser, server.baseUrl, String(invitation.link), STRANGER)
    try {
      expect((await request(stranger, 'GET', `/api/v1/instances/${ids.instance}/domains`)).status).toBe(404)
      expect(
        (await request(stranger, 'POST', `/api/v1/instances/${ids.instance}/domains`, { hostname: 'www.shop.example.test' })).status,
      ).toBe(404)
      expect((await request(stranger, 'POST', `/api/v1/domains/${ids.domain}/check`)).status).toBe(404)
      const upload = corpus.good.rsa.upload
      expect((await request(stranger, 'PUT', `/api/v1/domains/${ids.domain}/certificate`, upload)).status).toBe(404)
      expect((await request(stranger, 'DELETE', `/api/v1/domains/${ids.domain}?confirm=${HOSTNAME}`)).status).toBe(404)
      expect((await request(stranger, 'GET', '/api/v1/certificates')).status).toBe(403)
      expect((await strangerPage.goto(`/instances/${ids.instance}`))?.status()).toBe(404)
      expect(await strangerPage.getByText(HOSTNAME).count()).toBe(0)
    } finally {
      await stranger.close()
    }
    // Nothing changed.
    expect((await domainsOf(ids.instance)).map((d) => [d.hostname, d.state])).toEqual([[HOSTNAME, 'verified']])
  })

  it('8. staff remove the domain by typing its hostname; its certificate goes with it', async () => {
    await page.goto(`/instances/${ids.instance}`)
    await domainCard(page, 'verified')
      .getByRole('button', { name: `Remove ${HOSTNAME}` })
      .click()
    const dialog = page.getByRole('alertdialog')
    await dialog.getByRole('heading', { name: `Remove ${HOSTNAME}?` }).waitFor()
    const confirm = dialog.getByRole('button', { name: 'Remove domain' })
    await dialog.getByLabel('Hostname').fill('shop.example')
    expect(await confirm.isDisabled()).toBe(true)
    await dialog.getByLabel('Hostname').fill(HOSTNAME)
    await screenshot(page, 'domains-remove')
    await confirm.click()
    await dialog.waitFor({ state: 'detached' })
    await page.getByTestId('domains-empty').getByRole('heading', { name: 'No custom domains yet' }).waitFor()
    expect(await domainsOf(ids.instance)).toEqual([])

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Certificates' }).click()
    await page.waitForURL(/\/certificates$/)
    await page.getByRole('heading', { name: 'No certificates yet' }).waitFor()
    expect(await page.getByTestId('certificates-no-acme').count()).toBe(0)
    await screenshot(page, 'certificates-empty')
  })
})
