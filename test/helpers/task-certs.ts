// Task certificates made by hand for tests that talk to the gateway without `agentdb proxy`: signed by the
// cluster's real user CA (or by a CA of the test's own, to be refused), for a login session the test puts in
// the cluster's store. The private key stays in the test, as it would in a client.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import pg from 'pg';
import { CertificateAuthority, generateClientKey, type TaskCertPayload } from '../../src/ca/index.js';
import type { TestCluster } from './cluster.js';

/** The cluster name dev-cluster.ts gives its config; it names the CA files it creates. */
const DEV_CLUSTER_NAME = 'agentdb-dev';

export interface ClientCert {
  identity: string;
  certPem: string;
  keyPem: string;
  notAfter: Date;
  payload: TaskCertPayload;
  /** the cluster's host CA: what a client trusts for the gateway's server certificate */
  serverCaPem: string;
}

export interface CertSpec {
  identity: string;
  /** default: one hour from now */
  notAfter?: Date;
  /** default: a fresh active login session in the cluster's store */
  loginSession?: string;
  /** default: a person with the demo's `support` role, whose statements the policy allows by default */
  kind?: TaskCertPayload['kind'];
  roles?: string[];
  traits?: Record<string, string[]>;
  /** database users the certificate allows; default ['app_rw'] */
  users?: string[];
  /** database service; default customers */
  service?: string;
  /** database names the certificate allows; default [the suite's sample database] */
  names?: string[];
  reason?: string;
}

/** The user CA the cluster's gateway trusts (its files live in the cluster's data directory). */
export function clusterUserCa(tc: TestCluster): Promise<CertificateAuthority> {
  return CertificateAuthority.loadOrCreate(tc.dataDir, 'user', DEV_CLUSTER_NAME);
}

/** Puts an active login session for `identity` into the cluster's store, as `agentdb login` would have. */
export async function addLoginSession(tc: TestCluster, identity: string, ttlMs = 3600_000): Promise<string> {
  const id = `test_${randomBytes(9).toString('base64url')}`;
  const now = Date.now();
  await tc.cluster.server.store.putLoginSession({
    id,
    // Nobody ever presents this token: the gateway only asks whether the session is active.
    secretHash: randomBytes(32).toString('hex'),
    identity: { name: identity, kind: 'human', roles: ['support'], traits: {}, issuer: 'test', subject: identity },
    createdAt: new Date(now).toISOString(),
    expiresAt: new Date(now + ttlMs).toISOString(),
  });
  return id;
}

/** Issues a task certificate with `ca` (the cluster's user CA, or any other) for the suite's sample database. */
export async function issueTaskCert(tc: TestCluster, ca: CertificateAuthority, spec: CertSpec): Promise<ClientCert> {
  const key = await generateClientKey();
  const payload: TaskCertPayload = {
    kind: spec.kind ?? 'human',
    task: { id: `tsk_${randomBytes(9).toString('base64url')}`, reason: spec.reason ?? `gateway test as ${spec.identity}` },
    requester: spec.identity,
    roles: spec.roles ?? ['support'],
    db: { service: spec.service ?? 'customers', names: spec.names ?? [tc.database], users: spec.users ?? ['app_rw'] },
    traits: spec.traits ?? { region: ['eu'] },
    loginSession: spec.loginSession ?? (await addLoginSession(tc, spec.identity)),
  };
  const notAfter = spec.notAfter ?? new Date(Date.now() + 3600_000);
  const cert = await ca.issueTaskCert({ csrPem: await key.csr(spec.identity), identity: spec.identity, payload, notAfter });
  return {
    identity: spec.identity,
    certPem: cert.pem,
    keyPem: key.privateKeyPem,
    notAfter: cert.notAfter,
    payload: cert.payload,
    serverCaPem: await readFile(tc.cluster.info.caFile, 'utf8'),
  };
}

/** What a client presents to reach the gateway itself: a task certificate, its key, and the CA of the gateway's certificate. */
export type GatewayCredentials = Pick<ClientCert, 'certPem' | 'keyPem' | 'serverCaPem'>;

/**
 * node-postgres straight to the gateway, presenting `cert`, not yet connected: as app_rw to the suite's sample
 * database unless `config` says otherwise. Its 'error' events are swallowed: a test reads failures from the calls.
 */
export function gatewayPgClient(tc: TestCluster, cert: GatewayCredentials, config: pg.ClientConfig = {}): pg.Client {
  const client = new pg.Client({
    host: tc.cluster.info.gateway.host,
    port: tc.cluster.info.gateway.port,
    user: 'app_rw',
    database: tc.database,
    ssl: { ca: cert.serverCaPem, cert: cert.certPem, key: cert.keyPem },
    connectionTimeoutMillis: 30_000,
    ...config,
  });
  client.on('error', () => undefined);
  return client;
}
