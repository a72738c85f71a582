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
