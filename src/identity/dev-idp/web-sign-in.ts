// Browser sign-in to the control plane's web console (authorization code + PKCE) at the development IdP. The
// control plane listens on a port picked at start (0 in tests), after the IdP has started, so its callback cannot be
// registered exactly: like RFC 8252's loopback rule for native apps, any port of a loopback https origin is accepted
// for the one console callback path, and only for the control plane's own client.
import type { Provider } from 'oidc-provider';
import { isLoopbackHost } from '../transport.js';

/** Where the control plane's web console receives the IdP's answer (src/server/ui/sign-in.ts serves it). */
export const CONSOLE_CALLBACK_PATH = '/ui/callback';
/** What the client is registered with; the port is replaced by whatever the control plane listens on. */
export const CONSOLE_CALLBACK_PLACEHOLDER = `https://127.0.0.1${CONSOLE_CALLBACK_PATH}`;
/** The IdP's pages post their forms to themselves; the redirects that follow may lead to the console's callback. */
export const CONSOLE_FORM_TARGETS = 'https://127.0.0.1:* https://localhost:*';

export function isConsoleCallback(uri: string): boolean {
  const u = URL.parse(uri);
  return !!u && u.protocol === 'https:' && isLoopbackHost(u.hostname) && u.pathname === CONSOLE_CALLBACK_PATH && !u.search && !u.hash && !u.username && !u.password;
}

interface ClientModel {
  clientId: string;
  redirectUriAllowed(value: string): boolean;
}

/** Widens the redirect check of `clientId` (and only it) to the console callback on any loopback port. */
export function allowConsoleCallbacks(provider: Provider, clientId: string): void {
  const proto = (provider as unknown as { Client: { prototype: ClientModel } }).Client.prototype;
  const registered = proto.redirectUriAllowed;
  proto.redirectUriAllowed = function (this: ClientModel, value: string): boolean {
    return registered.call(this, value) || (this.clientId === clientId && isConsoleCallback(value));
  };
}
