// The built-in OpenID provider for `agentdb demo`, `agentdb server --dev` and the tests: a real
// oidc-provider over plain HTTP, bound to loopback only (see ../transport.ts for why that is safe).
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';
import { IdentityError, IdentityErrorCode } from '../errors.js';
import { isLoopbackHost } from '../transport.js';
import { Directory, type DevIdpClient, type DevIdpUser } from './directory.js';
import { INTERACTION_PREFIX, interactionHandler, send } from './interactions.js';
import { loadOrCreateSigningKey } from './keys.js';
import { messagePage } from './pages.js';
import { providerConfiguration } from './provider-config.js';
import { allowConsoleCallbacks } from './web-sign-in.js';

export interface DevIdpOptions {
  /** Default 127.0.0.1; must be a loopback address. */
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  users: DevIdpUser[];
  clients: DevIdpClient[];
  controlPlaneClient: { id: string; secret: string };
  audience: string;
  /** Where the signing key is kept across restarts (created 0600 when missing). */
  keyFile?: string;
}

export interface DevIdp {
  issuer: string;
  close(): Promise<void>;
}

/** Seconds between the control plane's token polls. The IdP is on loopback, so polling every second costs nothing and logins finish promptly. */
const DEVICE_POLL_INTERVAL_S = 1;

export async function startDevIdp(opts: DevIdpOptions): Promise<DevIdp> {
  const host = opts.host ?? '127.0.0.1';
  if (!isLoopbackHost(host)) {
    throw new IdentityError(IdentityErrorCode.DEV_IDP_CONFIG, `dev IdP: it serves plain http, so it binds only to a loopback address, not "${host}"`);
  }
  const { controlPlaneClient, audience } = opts;
  if (!controlPlaneClient?.id || !controlPlaneClient.secret) {
    throw new IdentityError(IdentityErrorCode.DEV_IDP_CONFIG, 'dev IdP: the control-plane client needs an id and a secret');
  }
  // RFC 8707 resource indicators, which carry the audience, must be absolute URIs.
  if (typeof audience !== 'string' || !URL.canParse(audience)) {
    throw new IdentityError(IdentityErrorCode.DEV_IDP_CONFIG, `dev IdP: the access-token audience must be an absolute URI (like https://agentdb.local/api), not ${JSON.stringify(audience)}`);
  }
  const directory = new Directory(opts.users, opts.clients, controlPlaneClient.id);
  const signingKey = await loadOrCreateSigningKey(opts.keyFile);

  const server = createServer();
  const port = await listen(server, host, opts.port ?? 0);
  const issuer = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  const provider = new Provider(
    issuer,
    providerConfiguration({ directory, controlPlaneClient, audience, signingKey, cookieKeys: [randomBytes(32).toString('base64url')] }),
  );
  // RFC 8628 lets the server name the polling interval; oidc-provider leaves it out (clients then wait 5s).
  provider.on('device_authorization.success', (_ctx: unknown, body: { interval?: number }) => {
    body.interval = DEVICE_POLL_INTERVAL_S;
  });
  allowConsoleCallbacks(provider, controlPlaneClient.id);
  const oidcCallback = provider.callback();
  const interactions = interactionHandler(provider, directory, controlPlaneClient.id);
  server.on('request', (req, res) => {
    const pathname = URL.parse(req.url ?? '/', issuer)?.pathname ?? '/';
    if (!pathname.startsWith(INTERACTION_PREFIX)) return oidcCallback(req, res);
    interactions(req, res, pathname).catch(() => {
      if (!res.headersSent) send(res, 500, messagePage('Sign-in failed', 'The identity provider hit an internal error.'));
      else res.destroy();
    });
  });

  let closing: Promise<void> | undefined;
  return {
    issuer,
    close: () => (closing ??= closeServer(server)),
  };
}

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => {
      reject(new IdentityError(IdentityErrorCode.DEV_IDP_LISTEN, `dev IdP: cannot listen on ${host}:${port}: ${err.message}`, { cause: err }));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((err) => (err ? reject(err) : resolve()));
    // Keep-alive connections from the OIDC clients would otherwise hold close() open.
    server.closeAllConnections();
  });
}
