// The TLS server certificate PostgreSQL and pgbouncer present on the direct and pgbouncer paths, signed by a
// bench CA of its own (the same P-256 certificates the gateway uses), so every path pays for comparable TLS.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CertificateAuthority } from '../../src/ca/index.js';
import { giveTo, serviceDir, type ServiceUser } from './service-user.js';

export interface ServerTls {
  /** what clients trust (sslrootcert) */
  caFile: string;
  caPem: string;
  certFile: string;
  /** 0600, owned by the user the servers run as */
  keyFile: string;
}

const YEAR_MS = 365 * 24 * 3600 * 1000;

export async function makeServerTls(dir: string, owner: ServiceUser | undefined): Promise<ServerTls> {
  const ca = await CertificateAuthority.loadOrCreate(path.join(dir, 'ca'), 'host', 'agentdb-bench');
  const { certPem, keyPem } = await ca.issueServerCert({ hosts: ['127.0.0.1', 'localhost'], ttlMs: YEAR_MS });
  const tlsDir = await serviceDir(path.join(dir, 'server-tls'), owner);
  const caFile = path.join(dir, 'bench-ca.pem');
  const certFile = path.join(tlsDir, 'server.crt');
  const keyFile = path.join(tlsDir, 'server.key');
  await writeFile(caFile, ca.certPem, { mode: 0o644 });
  await writeFile(certFile, certPem, { mode: 0o644 });
  await writeFile(keyFile, keyPem, { mode: 0o600 });
  await giveTo(certFile, owner);
  await giveTo(keyFile, owner);
  return { caFile, caPem: ca.certPem, certFile, keyFile };
}
