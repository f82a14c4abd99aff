// The dev IdP's browser sign-in for the web console: the control plane's client may be sent back to the console's
// callback on any loopback https port, and nowhere else; other clients get no such leeway.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { OidcLogin } from '../../src/identity/index.js';
import { startDevIdp, type DevIdp } from '../../src/identity/dev-idp/index.js';
import { isConsoleCallback } from '../../src/identity/dev-idp/web-sign-in.js';

const AUDIENCE = 'https://agentdb.test/api';
let idp: DevIdp;
let login: OidcLogin;

beforeAll(async () => {
  idp = await startDevIdp({
    users: [{ name: 'alice', password: 'pw', email: 'alice@example.com', groups: ['support'] }],
    clients: [{ id: 'ci-bot', secret: 'bot-secret', groups: ['bots'] }],
    controlPlaneClient: { id: 'agentdb', secret: 'cp-secret' },
    audience: AUDIENCE,
  });
  login = await OidcLogin.discover({ issuer: idp.issuer, clientId: 'agentdb', clientSecret: 'cp-secret', audience: AUDIENCE });
});

afterAll(async () => {
  await idp?.close();
});

/** Where the IdP's authorization endpoint sends the browser (or undefined when it answers with an error page). */
async function authorize(url: string): Promise<{ status: number; location: string | null }> {
  const res = await fetch(url, { redirect: 'manual' });
  await res.body?.cancel();
  return { status: res.status, location: res.headers.get('location') };
}

describe('console callback', () => {
  test('only the console path on a loopback https origin, any port', () => {
    expect(isConsoleCallback('https://127.0.0.1:7443/ui/callback')).toBe(true);
    expect(isConsoleCallback('https://localhost:41234/ui/callback')).toBe(true);
    expect(isConsoleCallback('https://[::1]:7443/ui/callback')).toBe(true);
    expect(isConsoleCallback('http://127.0.0.1:7443/ui/callback')).toBe(false);
    expect(isConsoleCallback('https://agentdb.example/ui/callback')).toBe(false);
    expect(isConsoleCallback('https://127.0.0.1.evil.example/ui/callback')).toBe(false);
    expect(isConsoleCallback('https://127.0.0.1:7443/ui/callback?next=x')).toBe(false);
    expect(isConsoleCallback('https://127.0.0.1:7443/ui/other')).toBe(false);
    expect(isConsoleCallback('https://user@127.0.0.1:7443/ui/callback')).toBe(false);
  });

  test('the IdP starts a sign-in that returns to a loopback console, with PKCE', async () => {
    const { url, checks } = await login.startBrowserLogin('https://127.0.0.1:45678/ui/callback');
    const u = new URL(url);
    expect(u.searchParams.get('code_challenge_method')).toBe('S256');
    expect(u.searchParams.get('state')).toBe(checks.state);
    const r = await authorize(url);
    // To its own login page: the redirect URI was accepted.
    expect(r.status).toBe(303);
    expect(r.location).toMatch(/\/interaction\//);
  });

  test('a redirect anywhere else, or for another client, is refused with no redirect', async () => {
    const { url } = await login.startBrowserLogin('https://agentdb.example/ui/callback');
    const elsewhere = await authorize(url);
    expect(elsewhere.status).toBe(400);
    expect(elsewhere.location).toBeNull();
    const other = new URL(url);
    other.searchParams.set('client_id', 'ci-bot');
    other.searchParams.set('redirect_uri', 'https://127.0.0.1:45678/ui/callback');
    const bot = await authorize(other.href);
    expect(bot.status).toBe(400);
    expect(bot.location).toBeNull();
  });
});
