import { existsSync, mkdirSync } from 'node:fs'
import path from 'node:path'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'

const CHROMIUM = '/usr/bin/chromium'
const ROOT = path.resolve(import.meta.dirname, '../..')
export const SCREENSHOT_DIR = path.join(ROOT, 'test-results', 'screenshots')

/** Debian's chromium, headless, with nothing that reaches the network on its own. */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`The browser tests need Chromium at ${CHROMIUM}: install it with \`apt-get install chromium\``)
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  })
}

/** A fresh browser profile (its own cookies) pointed at the server under test. */
export async function newContext(browser: Browser, baseURL: string): Promise<BrowserContext> {
  const context = await browser.newContext({ baseURL, viewport: { width: 1280, height: 860 } })
  context.setDefaultTimeout(15_000)
  context.setDefaultNavigationTimeout(30_000)
  return context
}

/** Saves a full-page PNG under test-results/screenshots/ (git-ignored) for people to look at. */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true })
  // From the top, so the sticky header is drawn where it belongs in the full-page image.
  await page.evaluate(() => window.scrollTo(0, 0))
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, `${name}.png`), fullPage: true })
}

/** Signs in through the sign-in page and waits for the instance list it lands on. */
export async function signInAs(page: Page, credentials: { email: string; password: string }): Promise<void> {
  await page.goto('/sign-in')
  await page.getByLabel('Email').fill(credentials.email)
  await page.getByLabel('Password').fill(credentials.password)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.waitForURL(/\/instances$/)
}

/**
 * A client joins through an invitation link (accepted over the API as a new account), then signs in in a browser
 * context of its own; the caller closes the context.
 */
export async function joinAsClient(
  browser: Browser,
  baseUrl: string,
  invitationLink: string,
  client: { name: string; email: string; password: string },
): Promise<{ context: BrowserContext; page: Page }> {
  const token = invitationLink.split('/').pop() ?? ''
  const accepted = await fetch(`${baseUrl}/api/v1/invitations/${token}/accept`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: client.name, password: client.password }),
  })
  if (accepted.status !== 200) throw new Error(`accepting the invitation answered ${accepted.status}: ${await accepted.text()}`)
  const context = await newContext(browser, baseUrl)
  const page = await context.newPage()
  await signInAs(page, client)
  return { context, page }
}

export const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

export type ApiMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'

/** An API call from a signed-in browser context (same session cookie, same origin); answers status and body. */
export async function apiRequest(context: BrowserContext, baseUrl: string, method: ApiMethod, route: string, data?: unknown) {
  const response = await context.request.fetch(route, { method, data, headers: { origin: baseUrl } })
  const text = await response.text()
  const json: unknown = text ? JSON.parse(text) : {}
  return { status: response.status(), body: isRecord(json) ? json : {}, json, text }
}

/** The same call, which must succeed with a JSON object. */
export async function apiCall(context: BrowserContext, baseUrl: string, method: ApiMethod, route: string, data?: unknown) {
  const { status, json, text } = await apiRequest(context, baseUrl, method, route, data)
  if (status >= 300 || !isRecord(json)) throw new Error(`${method} ${route}: ${status} ${text}`)
  return json
}

/** Staff create an organization and an instance in it through the API; answers both ids and the instance as returned. */
export async function createOrganizationAndInstance(
  call: (method: ApiMethod, route: string, data?: unknown) => Promise<Record<string, unknown>>,
  names: { organization: string; instance: string; contactEmail: string },
) {
  const org = await call('POST', '/api/v1/organizations', { name: names.organization })
  const instance = await call('POST', '/api/v1/instances', {
    organizationId: String(org.id),
    name: names.instance,
    settings: { contactEmail: names.contactEmail },
  })
  return { organizationId: String(org.id), instanceId: String(instance.id), instance }
}
