// Sign-in to the console: OpenID Connect authorization code with PKCE at the configured IdP, then the same login path
// as the CLI's (claims -> identity and roles -> an agentdb login session), held in an HttpOnly cookie.
import type { FastifyInstance } from 'fastify';
import type { BrowserLoginChecks } from '../../identity/index.js';
import { sendPage, seeOther, type UiContext } from './context.js';
import { UI_ERRORS, UiError } from './errors.js';
import { html } from './html.js';
import { page } from './layout.js';
import { clearSessionCookie, readCookie, setCookie, setSessionCookie, SIGN_IN_COOKIE, SIGN_IN_TTL_S } from './security.js';

const CALLBACK = '/ui/callback';
const HOME = '/ui/requests';
/** Where a sign-in may lead back to: a console page, never another site. */
const LOCAL_PAGE = /^\/ui\/[A-Za-z0-9._~%/-]*(\?[A-Za-z0-9._~%&=+-]*)?$/;

interface PendingSignIn extends BrowserLoginChecks {
  next: string;
}

export function registerSignIn(ui: FastifyInstance, ctx: UiContext): void {
  const { deps } = ctx;

  ui.get('/', async (_req, reply) => seeOther(reply, HOME));

  ui.get('/login', async (req, reply) => {
    const next = (req.query as { next?: unknown }).next;
    const login = await deps.oidc.login();
    const { url, checks } = await login.startBrowserLogin(deps.publicUrl() + CALLBACK);
    const pending: PendingSignIn = { ...checks, next: typeof next === 'string' && LOCAL_PAGE.test(next) && !next.startsWith(CALLBACK) ? next : HOME };
    // Lax: the IdP's redirect back is a cross-site navigation, which a Strict cookie would not survive.
    setCookie(reply, SIGN_IN_COOKIE, Buffer.from(JSON.stringify(pending)).toString('base64url'), { path: CALLBACK, sameSite: 'Lax', maxAge: SIGN_IN_TTL_S });
    return seeOther(reply, url);
  });

  ui.get('/callback', async (req, reply) => {
    const pending = readPending(readCookie(req, SIGN_IN_COOKIE));
    setCookie(reply, SIGN_IN_COOKIE, '', { path: CALLBACK, sameSite: 'Lax', maxAge: 0 });
    if (!pending) throw new UiError(UI_ERRORS.SIGN_IN, 'this sign-in was not started in this browser, or it took longer than 10 minutes; sign in again');
    const login = await deps.oidc.login();
    // The URL the IdP redirected to, rebuilt on the registered callback (not on the request's Host header).
    const at = new URL(deps.publicUrl() + CALLBACK);
    at.search = new URL(req.url, 'https://console.invalid').search;
    const claims = await login.finishBrowserLogin(at, pending);
    const { token, expiresAt } = await deps.startSession(claims, 'human', 'oidc-web');
    setSessionCookie(reply, token, new Date(expiresAt));
    // A page, not a redirect: the navigation that follows starts here (same site), so the Strict cookie goes with it;
    // a redirect would still count as the IdP's cross-site navigation.
    return sendPage(reply, page('Signed in', undefined, html`<p><a href="${pending.next}">Continue</a></p>`, { refresh: pending.next }));
  });

  ui.post('/logout', async (req, reply) => {
    const { viewer } = await ctx.changer(req);
    await deps.sessions.revoke(viewer.session.id);
    clearSessionCookie(reply);
    return seeOther(reply, '/ui/signed-out');
  });

  ui.get('/signed-out', async (_req, reply) => sendPage(reply, page('Signed out', undefined, html`<p>You are signed out. <a href="/ui/login">Sign in again</a></p>`)));
}

function readPending(cookie: string | undefined): PendingSignIn | undefined {
  if (!cookie) return undefined;
  try {
    const p = JSON.parse(Buffer.from(cookie, 'base64url').toString('utf8')) as Partial<PendingSignIn>;
    const ok = typeof p.verifier === 'string' && typeof p.state === 'string' && typeof p.nonce === 'string' && typeof p.next === 'string' && LOCAL_PAGE.test(p.next);
    return ok ? (p as PendingSignIn) : undefined;
  } catch {
    return undefined;
  }
}
