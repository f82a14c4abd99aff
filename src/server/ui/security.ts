// What keeps the console's session to the browser that signed in: the cookie's attributes, a CSRF token bound to the
// session, the Origin check on every state-changing request, and the headers every console response carries.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { LoginSession, LoginSessions } from '../login-sessions.js';
import { UI_ERRORS, UiError } from './errors.js';

/**
 * The console's session cookie holds an agentdb login session token (login-sessions.ts: stored hashed, expiring,
 * revocable, audited as a login). `__Secure-` makes browsers refuse it unless set Secure over https; Path=/ui keeps it
 * off the bearer API.
 */
export const SESSION_COOKIE = '__Secure-agentdb-console';
/** The sign-in in progress (PKCE verifier, state, nonce), for the callback only; Lax, as the IdP's redirect is cross-site. */
export const SIGN_IN_COOKIE = '__Secure-agentdb-sign-in';
export const SIGN_IN_TTL_S = 600;

/** The field every console form carries. */
export const CSRF_FIELD = 'csrf';

/**
 * Content-Security-Policy: no inline script or style, nothing from another origin, no framing, forms only to the console itself.
 */
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

export function securityHeaders(reply: FastifyReply): void {
  reply.header('content-security-policy', CSP);
  reply.header('x-frame-options', 'DENY');
  reply.header('x-content-type-options', 'nosniff');
  // Console URLs carry session and request ids, and the callback's carries the IdP's code: none of it leaves the
  // console. (no-referrer would also make Chromium send `Origin: null` on the console's own form posts.)
  reply.header('referrer-policy', 'same-origin');
  reply.header('cross-origin-opener-policy', 'same-origin');
  reply.header('cross-origin-resource-policy', 'same-origin');
  reply.header('cache-control', 'no-store');
}

export function readCookie(req: FastifyRequest, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

interface CookieOptions {
  path: string;
  sameSite: 'Strict' | 'Lax';
  /** seconds; 0 deletes the cookie */
  maxAge: number;
}

/** HttpOnly and Secure always: the console is served over https only (the API's TLS listener). */
export function setCookie(reply: FastifyReply, name: string, value: string, opts: CookieOptions): void {
  const line = `${name}=${value}; Path=${opts.path}; Max-Age=${Math.max(0, Math.floor(opts.maxAge))}; HttpOnly; Secure; SameSite=${opts.sameSite}`;
  const prior = reply.getHeader('set-cookie');
  reply.header('set-cookie', [...(Array.isArray(prior) ? prior : prior ? [String(prior)] : []), line]);
}

export function setSessionCookie(reply: FastifyReply, token: string, expiresAt: Date): void {
  setCookie(reply, SESSION_COOKIE, token, { path: '/ui', sameSite: 'Strict', maxAge: (expiresAt.getTime() - Date.now()) / 1000 });
}

export function clearSessionCookie(reply: FastifyReply): void {
  setCookie(reply, SESSION_COOKIE, '', { path: '/ui', sameSite: 'Strict', maxAge: 0 });
}

/** The signed-in person as a page sees them. */
export interface Viewer {
  session: LoginSession;
  /** this session's CSRF token, for the forms on the page */
  csrf: string;
}

/**
 * The token is derived from the session token's secret, which only the cookie carries: a page can show it, another
 * site cannot compute it, and it dies with the session (nothing more to store).
 */
function csrfFor(sessionToken: string): string {
  return createHmac('sha256', sessionToken).update('agentdb web console csrf').digest('base64url');
}

/** The viewer behind the request's session cookie, or UiError SIGNED_OUT. */
export async function viewerOf(req: FastifyRequest, sessions: LoginSessions): Promise<Viewer> {
  const token = readCookie(req, SESSION_COOKIE);
  if (!token) throw new UiError(UI_ERRORS.SIGNED_OUT, 'not signed in');
  try {
    return { session: await sessions.verify(token), csrf: csrfFor(token) };
  } catch {
    throw new UiError(UI_ERRORS.SIGNED_OUT, 'the console session expired or was ended; sign in again');
  }
}

/**
 * A state-changing request must come from a console page: same origin (Origin, and Sec-Fetch-Site where the browser
 * sends it) and this session's CSRF token in the form. SameSite=Strict already keeps the cookie off cross-site
 * requests; these hold where it does not (a sibling subdomain is "same site", an old browser ignores SameSite).
 */
export function checkStateChange(req: FastifyRequest, viewer: Viewer, body: Record<string, string>): void {
  const origin = req.headers.origin;
  const host = req.headers.host;
  if (!origin || !host || origin !== `https://${host}`) throw new UiError(UI_ERRORS.ORIGIN, `a change must come from a console page (Origin ${origin ?? 'missing'})`);
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin') throw new UiError(UI_ERRORS.ORIGIN, `a change must come from a console page (Sec-Fetch-Site ${site})`);
  const sent = Buffer.from(body[CSRF_FIELD] ?? '');
  const expected = Buffer.from(viewer.csrf);
  if (sent.length !== expected.length || !timingSafeEqual(sent, expected)) throw new UiError(UI_ERRORS.CSRF, 'the form carried no valid CSRF token; reload the page and try again');
}
