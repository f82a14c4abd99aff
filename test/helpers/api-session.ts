// The control plane's API as a client without the CLI sees it: a bot logs in with a client-credentials token
// from the dev IdP, asks for task certificates with its own key, and reaches the gateway with node-postgres.
import { readFile } from 'node:fs/promises';
import pg from 'pg';
import { Agent, fetch } from 'undici';
import { generateClientKey } from '../../src/ca/index.js';
import { clientCredentialsToken } from '../../src/identity/index.js';
import type { TestCluster } from './cluster.js';
import { gatewayPgClient } from './task-certs.js';

/** The audience dev-cluster.ts configures. */
const DEV_AUDIENCE = 'urn:agentdb:dev';

export interface ApiReply {
  status: number;
  body: { error?: { code: string; message: string } } & Record<string, unknown>;
}

export interface ApiClient {
  /** any request; `body` is sent as it is when a string, as JSON otherwise */
  call(method: string, path: string, opts?: { body?: unknown; token?: string; contentType?: string }): Promise<ApiReply>;
  close(): Promise<void>;
}

export async function apiClient(tc: TestCluster): Promise<ApiClient> {
  const dispatcher = new Agent({ connect: { ca: await readFile(tc.cluster.info.caFile, 'utf8') } });
  return {
    async call(method, path, opts = {}) {
      const headers: Record<string, string> = {};
      if (opts.token) headers.authorization = `Bearer ${opts.token}`;
      let body: string | undefined;
      if (opts.body !== undefined) {
        body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
        headers['content-type'] = opts.contentType ?? 'application/json';
      }
      const res = await fetch(`${tc.cluster.info.server}${path}`, { method, headers, dispatcher, ...(body !== undefined ? { body } : {}) });
      const text = await res.text();
      let parsed: ApiReply['body'];
      try {
        parsed = JSON.parse(text) as ApiReply['body'];
      } catch {
        parsed = { raw: text };
      }
      return { status: res.status, body: parsed };
    },
    close: () => dispatcher.close(),
  };
}

/** Logs a dev client (demo-agent, demo-reviewer) in through the API; returns its agentdb session token. */
export async function loginClient(tc: TestCluster, api: ApiClient, clientId = 'demo-agent'): Promise<string> {
  const c = tc.cluster.info.clients.find((x) => x.id === clientId)!;
  const idpToken = await clientCredentialsToken({ issuer: tc.cluster.info.issuer, clientId: c.id, clientSecret: c.secret, audience: DEV_AUDIENCE });
  const r = await api.call('POST', '/v1/login/token', { body: { token: idpToken } });
  if (r.status !== 200) throw new Error(`login of ${clientId} failed: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.token as string;
}

export interface DirectCert {
  certPem: string;
  keyPem: string;
  serverCaPem: string;
  task: { id: string; reason: string };
  db: { service: string; names: string[]; users: string[] };
}

/** Asks the API for a task certificate (the key pair made here, as a client would). */
export async function requestCert(tc: TestCluster, api: ApiClient, token: string, req: Record<string, unknown>): Promise<DirectCert> {
  const key = await generateClientKey();
  const r = await api.call('POST', '/v1/certs', { token, body: { csr: await key.csr('client'), ...req } });
  if (r.status !== 200) throw new Error(`certificate refused: ${r.status} ${JSON.stringify(r.body)}`);
  return {
    certPem: r.body.cert as string,
    keyPem: key.privateKeyPem,
    serverCaPem: await readFile(tc.cluster.info.caFile, 'utf8'),
    task: r.body.task as DirectCert['task'],
    db: r.body.db as DirectCert['db'],
  };
}

/** node-postgres straight to the gateway with a task certificate. */
export function gatewayClient(tc: TestCluster, cert: DirectCert): pg.Client {
  return gatewayPgClient(tc, cert, { user: cert.db.users[0]!, database: cert.db.names[0]! });
}
