import { isIP } from 'node:net';
import { CaError, CaErrorCode } from './errors.js';
import type { x509 } from './x509.js';

// Letters, digits, hyphens and (for container and service names) underscores, with an optional
// leading wildcard label.
const DNS_NAME = /^(\*\.)?[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$/i;

/**
 * Subject alternative names for a TLS server: IP addresses as IP SANs (a client connecting to
 * 127.0.0.1 checks an IP SAN, never a DNS one), everything else as DNS SANs.
 */
export function serverAltNames(hosts: string[]): x509.JsonGeneralName[] {
  if (!Array.isArray(hosts) || hosts.length === 0) {
    throw new CaError(CaErrorCode.BAD_HOST, 'a server certificate needs at least one host name or IP address');
  }
  const names = new Map<string, x509.JsonGeneralName>();
  for (const host of hosts) {
    if (typeof host !== 'string') throw new CaError(CaErrorCode.BAD_HOST, 'a server host must be a string');
    const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
    if (isIP(bare) !== 0) {
      names.set(`ip:${bare}`, { type: 'ip', value: bare });
    } else if (bare.length <= 253 && DNS_NAME.test(bare)) {
      const dns = bare.toLowerCase();
      names.set(`dns:${dns}`, { type: 'dns', value: dns });
    } else {
      throw new CaError(CaErrorCode.BAD_HOST, `"${host}" is neither an IP address nor a DNS name`);
    }
  }
  return [...names.values()];
}
