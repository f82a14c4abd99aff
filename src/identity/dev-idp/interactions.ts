// The development IdP's own interaction routes: the login form, and automatic consent for the
// control plane (a first-party client, so asking the person "allow agentdb?" would only add a click).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Interaction, Provider } from 'oidc-provider';
import type { Directory } from './directory.js';
import { loginPage, messagePage } from './pages.js';
import { CONSOLE_FORM_TARGETS } from './web-sign-in.js';

export const INTERACTION_PREFIX = '/interaction/';
const ROUTE = /^\/interaction\/([\w-]+)(\/login)?$/;
const MAX_FORM_BYTES = 8 * 1024;

export function interactionHandler(provider: Provider, directory: Directory, firstPartyClientId: string) {
  return async function handleInteraction(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<void> {
    const route = ROUTE.exec(pathname);
    const uid = route?.[1];
    const isLogin = route?.[2] !== undefined;
    if (!uid || (req.method !== (isLogin ? 'POST' : 'GET'))) {
      return send(res, 404, messagePage('Not found', 'There is no such page.'));
    }
    try {
      const details = await provider.interactionDetails(req, res);
      if (details.uid !== uid) {
        return send(res, 400, messagePage('Sign-in failed', 'This page belongs to another sign-in. Start the login again from your terminal.'));
      }
      if (isLogin) return await submitLogin(req, res, details);
      if (details.prompt.name === 'login') return send(res, 200, loginPage(loginAction(uid)));
      if (details.prompt.name === 'consent') return await grantConsent(req, res, details);
      return send(res, 400, messagePage('Sign-in failed', `The identity provider asked for "${details.prompt.name}", which this development IdP does not offer.`));
    } catch (err) {
      if (err instanceof Error && err.name === 'SessionNotFound') {
        return send(res, 400, messagePage('Sign-in expired', 'This sign-in page has expired or was already used. Start the login again from your terminal.'));
      }
      return send(res, 500, messagePage('Sign-in failed', 'The identity provider hit an internal error.'));
    }
  };

  async function submitLogin(req: IncomingMessage, res: ServerResponse, details: Interaction): Promise<void> {
    if (details.prompt.name !== 'login') {
      return send(res, 400, messagePage('Sign-in failed', 'This sign-in does not need a password any more. Start the login again from your terminal.'));
    }
    const form = await readForm(req);
    if (!form) return send(res, 400, messagePage('Sign-in failed', 'The sign-in form could not be read.'));
    if (form.get('cancel')) {
      return provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'the user cancelled the sign-in' }, { mergeWithLastSubmission: false });
    }
    const username = form.get('username') ?? '';
    const user = directory.authenticate(username, form.get('password') ?? '');
    if (!user) {
      return send(res, 401, loginPage(loginAction(details.uid), { username, error: 'Wrong username or password.' }));
    }
    await provider.interactionFinished(req, res, { login: { accountId: user.name } }, { mergeWithLastSubmission: false });
  }

  async function grantConsent(req: IncomingMessage, res: ServerResponse, details: Interaction): Promise<void> {
    const clientId = details.params['client_id'];
    const accountId = details.session?.accountId;
    if (clientId !== firstPartyClientId || !accountId) {
      // There is no consent screen: only the control plane may sign people in here.
      return provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'only the agentdb control plane may sign users in at the development IdP' }, { mergeWithLastSubmission: false });
    }
    const grant = (details.grantId ? await provider.Grant.find(details.grantId) : undefined) ?? new provider.Grant({ accountId, clientId });
    const missing = details.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]> };
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [resource, scopes] of Object.entries(missing.missingResourceScopes ?? {})) grant.addResourceScope(resource, scopes.join(' '));
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { consent: details.grantId ? {} : { grantId } }, { mergeWithLastSubmission: true });
  }
}

function loginAction(uid: string): string {
  return `${INTERACTION_PREFIX}${uid}/login`;
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams | undefined> {
  if (!(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_FORM_BYTES) return undefined;
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

export function send(res: ServerResponse, status: number, html: string): void {
  const body = Buffer.from(html, 'utf8');
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': body.length,
    'cache-control': 'no-store',
    // The pages need no script, frame or outside resource; say so. A form's redirects count as its target in
    // Chromium, and the login form's lead to the web console's callback (web-sign-in.ts).
    'content-security-policy': `default-src 'none'; style-src 'unsafe-inline'; form-action 'self' ${CONSOLE_FORM_TARGETS}; frame-ancestors 'none'`,
  });
  res.end(body);
}
