// Which URLs the OIDC clients may talk to. Tokens, client secrets and device codes travel on these
// requests, so anything that leaves the machine must be HTTPS. Plain HTTP is allowed only to a
// loopback address, where the development IdP (`agentdb demo`, `server --dev`, the tests) runs: the
// traffic never leaves the host, and running a local IdP with a trusted TLS certificate would make
// the demo much harder to start for no security gain.
import { isIP } from 'node:net';
import { IdentityError, IdentityErrorCode } from './errors.js';

/** 127.0.0.0/8, ::1 and localhost. URL hostnames arrive with IPv6 in brackets. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  if (host.toLowerCase() === 'localhost') return true;
  if (isIP(host) === 4) return host.split('.')[0] === '127';
  if (isIP(host) === 6) return host === '::1' || host === '0:0:0:0:0:0:0:1';
  return false;
}

/** Parses an issuer (or endpoint) URL and refuses plain HTTP unless the host is loopback. */
export function assertTransportAllowed(url: string | URL, what: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new IdentityError(IdentityErrorCode.ISSUER_INVALID, `${what} "${String(url)}" is not a URL`);
  }
  if (parsed.protocol === 'https:') return parsed;
  if (parsed.protocol === 'http:') {
    if (isLoopbackHost(parsed.hostname)) return parsed;
    throw new IdentityError(
      IdentityErrorCode.INSECURE_ISSUER,
      `${what} ${parsed.origin} uses plain http on a non-loopback host; use https (http is allowed only for 127.0.0.1, ::1 or localhost)`,
    );
  }
  throw new IdentityError(IdentityErrorCode.ISSUER_INVALID, `${what} "${parsed.href}" must be an https URL`);
}

/**
 * fetch that checks every request against the rule above. Discovery metadata is data from the
 * network: without this, an http issuer on loopback could name a token endpoint elsewhere over http.
 */
export function guardedFetch(what: string) {
  // Generic in the options type: openid-client and jose each describe their fetch options with
  // their own type, and both are options meant for fetch.
  return async <Init>(url: string | URL, init: Init): Promise<Response> => {
    assertTransportAllowed(url, what);
    return fetch(url, init as RequestInit);
  };
}
