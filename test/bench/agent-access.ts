// The demo agent as a real client gets in: `agentdb login` with its client credentials (the CLI keeps the
// session token in its file key store), then task certificates from the control plane's /v1/certs, for
// clients that present one straight to the gateway (pgbench with sslcert/sslkey, node-postgres).
import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { generateClientKey } from '../../src/ca/index.js';
import { ApiClient } from '../../src/client/index.js';
import type { DevInfo } from '../../src/server/index.js';
import { agentdb } from '../helpers/cluster.js';
import { BenchError } from './errors.js';
import type { Endpoint } from './paths.js';

export const AGENT = 'demo-agent';

export interface AgentLogin {
  /** AGENTDB_HOME of the logged-in CLI */
  home: string;
  api: ApiClient;
}

/** Logs the demo agent in through the CLI and reads the session token from the CLI's key store file. */
export async function loginAgent(info: DevInfo, home: string): Promise<AgentLogin> {
  const client = info.clients.find((c) => c.id === AGENT);
  if (!client) throw new BenchError('AGENTDB_ERR_BENCH_LOGIN', `dev.json names no ${AGENT} client`);
  const r = await agentdb(home, ['login', '--server', info.server, '--ca-file', info.caFile, '--client-id', AGENT, '--client-secret-env', 'BENCH_CLIENT_SECRET'], {
    BENCH_CLIENT_SECRET: client.secret,
  });
  if (r.code !== 0) throw new BenchError('AGENTDB_ERR_BENCH_LOGIN', `agentdb login failed (${r.code}): ${r.stderr.trim()}`);
  const keys = path.join(home, 'keys');
  const tokens = (await readdir(keys)).filter((f) => f.endsWith('.token'));
  if (tokens.length !== 1) throw new BenchError('AGENTDB_ERR_BENCH_LOGIN', `expected one token file in ${keys}, found ${tokens.length}`);
  const token = (await readFile(path.join(keys, tokens[0]!), 'utf8')).trim();
  return { home, api: new ApiClient(info.server, await readFile(info.caFile, 'utf8'), token) };
}

export interface CertRequest {
  csr: string;
  db: string;
  dbUser: string;
  dbName: string;
  task: string;
  ttl: string;
}

export interface IssuedCert {
  cert: string;
  caPem: string;
  expiresAt: string;
}

export function requestCert(api: ApiClient, req: CertRequest): Promise<IssuedCert> {
  return api.post<IssuedCert>('/v1/certs', req);
}

export interface ClientCertFiles {
  certFile: string;
  /** 0600, as libpq demands */
  keyFile: string;
  /** the cluster's host CA: what the gateway's server certificate is checked against */
  rootCertFile: string;
  certPem: string;
  keyPem: string;
  caPem: string;
  remove(): Promise<void>;
}

/** A task certificate for the bench database, written with its key to a private temp directory. */
export async function taskCertFiles(login: AgentLogin, target: Omit<CertRequest, 'csr'>): Promise<ClientCertFiles> {
  const key = await generateClientKey();
  const issued = await requestCert(login.api, { ...target, csr: await key.csr(AGENT) });
  const dir = await mkdtemp(path.join(tmpdir(), 'agentdb-bench-cert-'));
  const certFile = path.join(dir, 'task.crt');
  const keyFile = path.join(dir, 'task.key');
  const rootCertFile = path.join(dir, 'gateway-ca.pem');
  await writeFile(certFile, issued.cert, { mode: 0o644 });
  await writeFile(keyFile, key.privateKeyPem, { mode: 0o600 });
  await chmod(keyFile, 0o600);
  await writeFile(rootCertFile, issued.caPem, { mode: 0o644 });
  return {
    certFile,
    keyFile,
    rootCertFile,
    certPem: issued.cert,
    keyPem: key.privateKeyPem,
    caPem: issued.caPem,
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/** How a client that presents the task certificate itself reaches the gateway over TLS. */
export function gatewayTls(cert: ClientCertFiles): NonNullable<Endpoint['tls']> {
  return {
    rootCertFile: cert.rootCertFile,
    caPem: cert.caPem,
    client: { certFile: cert.certFile, keyFile: cert.keyFile, certPem: cert.certPem, keyPem: cert.keyPem },
  };
}
