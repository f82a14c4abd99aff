// The web console in a real headless Chromium (puppeteer-core over CDP) against the real control plane, gateway and
// dev IdP: alice (the demo's reviewer: role support, review.databases customers) signs in through the IdP's own pages,
// watches the demo agent's DELETE FROM orders arrive without a reload, approves it and sees it complete, denies another
// with a reason the agent's client receives, plays the session and locks the agent; forged and non-reviewer requests
// are refused.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { readFile } from 'node:fs/promises';
import pg from 'pg';
import type { Browser, Page } from 'puppeteer-core';
import { Agent, fetch as undiciFetch } from 'undici';
import { eventually, loginAgent, startProxyCli, startTestCluster, type CliProcess, type ProxyReady, type TestCluster } from '../helpers/cluster.js';
import { chromiumMissing, launchChromium, signIn } from '../helpers/chromium.js';
import { startWebhookCatcher, type WebhookCatcher } from '../helpers/webhook-catcher.js';

const missing = chromiumMissing();
if (missing) console.warn(`web console tests skipped: ${missing}`);

let tc: TestCluster;
let proxy: { proc: CliProcess; ready: ProxyReady };
let browser: Browser;
let page: Page;
let hooks: WebhookCatcher<{ type?: string; url?: string; request?: { id?: string } }>;
let alice: { name: string; password: string };
let server: string;

beforeAll(async () => {
  if (missing) return;
  hooks = await startWebhookCatcher();
  tc = await startTestCluster('webui', (config) => {
    config.review = { webhook: { url: hooks.url() } };
  });
  server = tc.cluster.info.server;
  alice = tc.cluster.info.users.find((u) => u.name === 'alice')!;
  const agentHome = await tc.newHome();
  await loginAgent(tc, agentHome);
  proxy = await startProxyCli(agentHome, ['--db', 'customers', '--task', 'tidy up orders']);
  browser = await launchChromium();
  page = await browser.newPage();
});

afterAll(async () => {
  await browser?.close();
  await proxy?.proc.stop();
  await tc?.close();
  await hooks?.close();
});

/** The console's article for the pending request whose statement contains `sql`, once it is on the page. */
async function heldOnPage(p: Page, sql: string): Promise<string> {
  const handle = await p.waitForFunction(
    (text) => [...document.querySelectorAll('article[data-request-id]')].find((a) => a.querySelector('pre.sql')?.textContent === text)?.getAttribute('data-request-id'),
    { timeout: 20_000 },
    sql,
  );
  return (await handle.jsonValue()) as string;
}

async function agentClient(): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: proxy.ready.url });
  await c.connect();
  return c;
}

describe.skipIf(!!missing)('web console', () => {
  let heldSid = '';
  let deniedSid = '';

  test('alice signs in through the IdP\'s own pages; the session cookie is HttpOnly, Secure, SameSite=Strict', async () => {
    await signIn(page, server, tc.cluster.info.issuer, alice.name, alice.password);
    expect(await page.$eval('header .whoami span', (s) => s.textContent)).toBe('alice');
    const cookie = (await page.cookies()).find((c) => c.name === '__Secure-agentdb-console');
    expect(cookie).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Strict', path: '/ui' });
    // The sign-in's own cookie is gone once it is used.
    expect((await page.cookies(`${server}/ui/callback`)).find((c) => c.name === '__Secure-agentdb-sign-in')).toBeUndefined();
    const res = await page.reload();
    expect(res!.headers()['content-security-policy']).toMatch(/script-src 'self'; style-src 'self'.*frame-ancestors 'none'/);
    expect(res!.headers()['x-frame-options']).toBe('DENY');
    await page.screenshot({ path: '/tmp/ui-requests-empty.png' });
  });

  test('the agent\'s held DELETE appears without a reload; approving it lets the statement complete', async () => {
    await page.goto(`${server}/ui/requests`);
    await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));
    const c = await agentClient();
    const before = Number((await c.query('SELECT count(*) FROM orders')).rows[0].count);
    expect(before).toBeGreaterThan(0);
    const del = c.query('DELETE FROM orders');
    const id = await heldOnPage(page, 'DELETE FROM orders');
    expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
    const text = await page.$eval(`article[data-request-id="${id}"]`, (a) => (a as HTMLElement).innerText);
    expect(text).toContain('demo-agent');
    expect(text).toContain('tidy up orders');
    expect(text).toContain('customers');
    expect(text).toMatch(/Rule\s+agent-safe:[\w-]+/);
    heldSid = (await page.$eval(`article[data-request-id="${id}"] a[href^="/ui/sessions/"]`, (a) => a.textContent))!;
    await page.screenshot({ path: '/tmp/ui-requests.png' });
    // The webhook's payload links to the same request's page.
    const hook = await eventually(async () => hooks.announced.find((a) => a.request?.id === id), 'the webhook');
    expect(hook.url).toBe(`${server}/ui/requests/${id}`);

    await Promise.all([page.waitForNavigation(), page.click(`article[data-request-id="${id}"] button.approve`)]);
    expect(new URL(page.url()).pathname).toBe(`/ui/requests/${id}`);
    expect(await page.$eval('article .state', (s) => s.textContent)).toBe('approved');
    expect((await del).rowCount).toBe(before);
    await page.screenshot({ path: '/tmp/ui-request-approved.png' });
    await c.end();
  });

  test('a denial\'s reason reaches the agent\'s client', async () => {
    await page.goto(`${server}/ui/requests`);
    const c = await agentClient();
    await c.query("INSERT INTO orders (customer_id, region, amount, status) VALUES (1, 'us-east', 5, 'paid')");
    const del = c.query('DELETE FROM orders').then(() => undefined, (e: Error & { code?: string }) => e);
    const id = await heldOnPage(page, 'DELETE FROM orders');
    deniedSid = (await page.$eval(`article[data-request-id="${id}"] a[href^="/ui/sessions/"]`, (a) => a.textContent))!;
    await page.locator(`article[data-request-id="${id}"] input[name=reason]`).fill('not during business hours <b>');
    await Promise.all([page.waitForNavigation(), page.click(`article[data-request-id="${id}"] button.deny`)]);
    expect(await page.$eval('article .state', (s) => s.textContent)).toBe('denied');
    // Shown as text, not markup.
    expect(await page.$eval('article .meta', (m) => m.textContent)).toContain('“not during business hours <b>”');
    const err = await del;
    expect(err).toMatchObject({ code: '42501' });
    expect(err!.message).toMatch(/denied by alice: not during business hours <b>/);
    expect((await c.query('SELECT count(*)::int AS n FROM orders')).rows[0].n).toBe(1);
    await c.end();
  });

  test('the session plays: statements in order with rows, timing and SQLSTATEs; play, pause, speed', async () => {
    expect(heldSid).not.toBe('');
    // The recording is written in batches; wait until the approved DELETE is in it.
    const rows = await eventually(async () => {
      await page.goto(`${server}/ui/sessions/${heldSid}`);
      const found = await page.$$eval('#statements tbody tr', (trs) => trs.map((tr) => ({ t: Number(tr.getAttribute('data-t')), cells: [...tr.querySelectorAll('td')].map((td) => (td as HTMLElement).innerText.trim()) })));
      return found.length >= 2 ? found : undefined;
    }, 'the recording of the approved DELETE');
    expect(rows.map((r) => r.cells[2])).toEqual(['SELECT count(*) FROM orders', 'DELETE FROM orders']);
    expect(rows[0]!.cells[4]).toBe('1');
    expect(Number(rows[1]!.cells[4])).toBeGreaterThan(0);
    // In order of their time into the session; the DELETE waited for alice.
    expect(rows[1]!.t).toBeGreaterThan(rows[0]!.t);
    expect(rows[1]!.cells[1]).toMatch(/^\+\d+\.\d{3} s$/);
    await page.screenshot({ path: '/tmp/ui-player.png', fullPage: true });

    // Every row shows before play (the page needs no script); play hides what has not happened yet and shows it when
    // its time comes; pause stops the clock; a higher speed gets to the end.
    const state = () => page.$eval('#player', (p) => p.getAttribute('data-state'));
    expect(await page.$eval('#player', (p) => (p as HTMLElement).hidden)).toBe(false);
    expect(await page.$$('#statements tbody tr.unplayed')).toHaveLength(0);
    await page.select('#player select[data-action=speed]', '0.25');
    await page.click('#player button[data-action=play]');
    expect(await state()).toBe('playing');
    expect(await page.$eval('#statements tbody tr:last-child', (tr) => tr.classList.contains('unplayed'))).toBe(true);
    await page.click('#player button[data-action=pause]');
    expect(await state()).toBe('paused');
    const clock = await page.$eval('[data-clock]', (c) => c.textContent);
    await new Promise((r) => setTimeout(r, 300));
    expect(await page.$eval('[data-clock]', (c) => c.textContent)).toBe(clock);
    await page.select('#player select[data-action=speed]', '10');
    await page.click('#player button[data-action=play]');
    await page.waitForFunction(() => document.querySelector('#player')?.getAttribute('data-state') === 'ended', { timeout: 30_000 });
    expect(await page.$$('#statements tbody tr.unplayed')).toHaveLength(0);
  });

  test('the denied DELETE plays with its SQLSTATE and the rule', async () => {
    expect(deniedSid).not.toBe('');
    const row = await eventually(async () => {
      await page.goto(`${server}/ui/sessions/${deniedSid}`);
      const texts = await page.$$eval('#statements tbody tr', (trs) => trs.map((tr) => (tr as HTMLElement).innerText));
      return texts.find((t) => t.includes('DELETE FROM orders'));
    }, 'the recording of the denied DELETE');
    expect(row).toMatch(/42501/);
    expect(row).toMatch(/denied by alice/);
  });

  test('audit search takes the CLI\'s filters, finds what the audit log finds, and links to the session', async () => {
    await page.goto(`${server}/ui/audit?user=demo-agent&type=request.*&db=customers&limit=50`);
    const ids = await page.$$eval('table.events tbody tr', (trs) => trs.map((tr) => tr.getAttribute('data-event-id')));
    const expected = await tc.cluster.server.audit.search({ user: 'demo-agent', type: 'request.*', db: 'customers', limit: 50 });
    expect(ids).toEqual(expected.map((e) => e.id));
    expect(ids.length).toBeGreaterThan(0);
    await page.goto(`${server}/ui/audit?sid=${heldSid}`);
    await page.screenshot({ path: '/tmp/ui-audit.png', fullPage: true });
    await Promise.all([page.waitForNavigation(), page.click('table.events a.sid')]);
    expect(new URL(page.url()).pathname).toBe(`/ui/sessions/${heldSid}`);
  });

  test('a POST without the CSRF token, or from another origin, is refused (403) and changes nothing', async () => {
    await page.goto(`${server}/ui/identities/demo-agent`);
    const noToken = await page.evaluate(async () => {
      const r = await fetch('/ui/locks', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'user=demo-agent&reason=forged' });
      return { status: r.status, text: await r.text() };
    });
    expect(noToken.status).toBe(403);
    expect(noToken.text).toContain('AGENTDB_ERR_UI_CSRF');
    // With the session's token, but sent by another site (the cookie and token taken as an attacker could not).
    const token = await page.$eval('form.lock input[name=csrf]', (i) => (i as HTMLInputElement).value);
    const cookie = (await page.cookies()).find((c) => c.name === '__Secure-agentdb-console')!;
    const dispatcher = new Agent({ connect: { ca: await readFile(tc.cluster.info.caFile, 'utf8') } });
    const forged = await undiciFetch(`${server}/ui/locks`, {
      method: 'POST',
      dispatcher,
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `${cookie.name}=${cookie.value}`, origin: 'https://evil.example' },
      body: new URLSearchParams({ csrf: token, user: 'demo-agent', reason: 'forged' }).toString(),
    });
    expect(forged.status).toBe(403);
    expect(await forged.text()).toContain('AGENTDB_ERR_UI_ORIGIN');
    await dispatcher.close();
    expect(tc.cluster.server.audit).toBeDefined();
    expect((await tc.cluster.server.audit.search({ type: 'lock.created' })).length).toBe(0);
  });

  test('locking the agent from its page ends its open session; unlocking lifts it', async () => {
    const c = await agentClient();
    const ended = new Promise<Error>((resolve) => c.on('error', resolve));
    await page.goto(`${server}/ui/identities/demo-agent`);
    await page.locator('form.lock input[name=reason]').fill('incident 7');
    await Promise.all([page.waitForNavigation(), page.click('form.lock button[type=submit]')]);
    expect((await ended).message).toMatch(/locked by alice: incident 7/);
    expect(await page.$eval('section.locks li', (li) => li.textContent)).toContain('incident 7');
    await page.screenshot({ path: '/tmp/ui-identity.png', fullPage: true });
    await Promise.all([page.waitForNavigation(), page.click('section.locks li button')]);
    expect(await page.$$('section.locks li')).toHaveLength(0);
    const again = await agentClient();
    expect((await again.query('SELECT 1 AS one')).rows[0].one).toBe(1);
    await again.end();
  });

  test('one session opens at most four live streams; a fifth is refused (429) until one closes', async () => {
    const cookie = (await page.cookies()).find((c) => c.name === '__Secure-agentdb-console')!;
    const dispatcher = new Agent({ connect: { ca: await readFile(tc.cluster.info.caFile, 'utf8') } });
    const open = () => {
      const ac = new AbortController();
      const r = undiciFetch(`${server}/ui/events`, { dispatcher, signal: ac.signal, headers: { cookie: `${cookie.name}=${cookie.value}` } });
      return { ac, r };
    };
    // A stream, once the session has room for one: the server counts a closed stream out when it sees the close.
    const openWhenFree = (what: string) =>
      eventually(async () => {
        const s = open();
        const r = await s.r;
        if (r.status === 200) return s;
        s.ac.abort();
        return undefined;
      }, what);
    // The page is taken off the requests page (the only one with a live stream): its EventSource connects some time
    // after the page's load event, so counting on it raced the streams opened here. Four of ours fill the four.
    await page.goto(`${server}/ui/audit`);
    const streams = [];
    for (let i = 0; i < 4; i++) streams.push(await openWhenFree(`live stream ${i + 1}`));
    const fifth = open();
    expect((await fifth.r).status).toBe(429);
    streams[0]!.ac.abort();
    const again = await openWhenFree('a stream once one closed');
    for (const s of [...streams.slice(1), again]) s.ac.abort();
    await dispatcher.close().catch(() => undefined);
  });

  test('signing out ends the session: the cookie no longer opens a page', async () => {
    const cookie = (await page.cookies()).find((c) => c.name === '__Secure-agentdb-console')!;
    await page.goto(`${server}/ui/requests`);
    await Promise.all([page.waitForNavigation(), page.click('header .whoami button')]);
    expect(new URL(page.url()).pathname).toBe('/ui/signed-out');
    const dispatcher = new Agent({ connect: { ca: await readFile(tc.cluster.info.caFile, 'utf8') } });
    const r = await undiciFetch(`${server}/ui/requests`, { dispatcher, redirect: 'manual', headers: { cookie: `${cookie.name}=${cookie.value}` } });
    expect(r.status).toBe(303);
    expect(r.headers.get('location')).toBe('/ui/login?next=%2Fui%2Frequests');
    await dispatcher.close();
  });
});

describe.skipIf(!!missing)('web console for someone who may not review', () => {
  let tc2: TestCluster;
  let proxy2: { proc: CliProcess; ready: ProxyReady };

  beforeAll(async () => {
    // alice holds only the analyst role here: no review.databases, no audit.
    tc2 = await startTestCluster('webui-noreview', (config) => {
      config.auth.bindings = config.auth.bindings.map((b) => (b.match.values.includes('support') ? { ...b, roles: ['analyst'] } : b));
      config.roles['demo-agent']!.review = { ...config.roles['demo-agent']!.review, databases: [], timeout: '10s' };
    });
    const home = await tc2.newHome();
    await loginAgent(tc2, home);
    proxy2 = await startProxyCli(home, ['--db', 'customers', '--task', 'clean up']);
  });

  afterAll(async () => {
    await proxy2?.proc.stop();
    await tc2?.close();
  });

  test('does not see the held statement, and approving it or opening the audit log is refused (403)', async () => {
    const ctx = await browser.createBrowserContext();
    const p = await ctx.newPage();
    const a = tc2.cluster.info.users.find((u) => u.name === 'alice')!;
    await signIn(p, tc2.cluster.info.server, tc2.cluster.info.issuer, a.name, a.password);
    const c = new pg.Client({ connectionString: proxy2.ready.url });
    await c.connect();
    const del = c.query('DELETE FROM orders').then(() => undefined, (e: Error) => e);
    const pending = await eventually(async () => (await tc2.cluster.server.store.listRequests({ state: 'pending' }))[0], 'the held DELETE');
    await p.reload();
    expect(await p.$$('article[data-request-id]')).toHaveLength(0);
    const token = await p.$eval('header .whoami input[name=csrf]', (i) => (i as HTMLInputElement).value);
    const approve = await p.evaluate(async (id, csrf) => {
      const r = await fetch(`/ui/requests/${id}/approve`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `csrf=${encodeURIComponent(csrf)}` });
      return { status: r.status, text: await r.text() };
    }, pending.id, token);
    expect(approve.status).toBe(403);
    expect(approve.text).toContain('AGENTDB_ERR_REQUEST_FORBIDDEN');
    const audit = await p.goto(`${tc2.cluster.info.server}/ui/audit`);
    expect(audit!.status()).toBe(403);
    expect(await p.$eval('main', (m) => m.textContent)).toContain('AGENTDB_ERR_UI_FORBIDDEN');
    await p.screenshot({ path: '/tmp/ui-refused.png' });
    // Nobody approved it: it times out at the agent.
    expect(((await del) as Error).message).toMatch(/timed out/);
    expect((await tc2.cluster.server.store.getRequest(pending.id))!.state).toBe('expired');
    await c.end();
    await ctx.close();
  });
});
