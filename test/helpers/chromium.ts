// A real headless Chromium (Debian's `chromium`, which .ci/run installs) driven over CDP by puppeteer-core, and the
// web console's sign-in done in it as a person does: the console sends the browser to the IdP, the IdP's own login
// page is filled in, and the IdP sends it back.
import { existsSync } from 'node:fs';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

export const CHROMIUM = process.env['AGENTDB_CHROMIUM'] ?? '/usr/bin/chromium';

export function chromiumMissing(): string | undefined {
  return existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is missing (Debian package chromium; .ci/run installs it)`;
}

export async function launchChromium(): Promise<Browser> {
  return puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    // The control plane's certificate comes from the cluster's own host CA, which this browser profile does not trust.
    acceptInsecureCerts: true,
    // Chromium refuses to run as root with its sandbox (CI containers run as root).
    args: [...(process.getuid?.() === 0 ? ['--no-sandbox'] : []), '--disable-dev-shm-usage', '--window-size=1280,900'],
    defaultViewport: { width: 1280, height: 900 },
  });
}

/**
 * Opens `consolePath` signed out, which leads to the IdP's login page; signs in there and waits until the console
 * shows `consolePath`. Returns the page.
 */
export async function signIn(page: Page, serverUrl: string, issuer: string, username: string, password: string, consolePath = '/ui/requests'): Promise<void> {
  await page.goto(`${serverUrl}${consolePath}`, { waitUntil: 'load' });
  if (!page.url().startsWith(issuer)) throw new Error(`expected the IdP's login page, got ${page.url()}`);
  await page.locator('#username').fill(username);
  await page.locator('#password').fill(password);
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('button[type=submit]:not([name=cancel])')]);
  // The callback answers with a page that moves on (meta refresh) to where the sign-in started.
  for (let i = 0; i < 50 && new URL(page.url()).pathname !== consolePath; i++) await new Promise((r) => setTimeout(r, 100));
  if (new URL(page.url()).pathname !== consolePath) throw new Error(`sign-in ended at ${page.url()}: ${await page.$eval('main', (m) => m.textContent ?? '').catch(() => '')}`);
}
