// Every way the gateway says no: the client gets a FATAL ErrorResponse with SQLSTATE 28000 and words that say
// why, and a db.session.denied event naming the identity is stored before the refusal is sent.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { CertificateAuthority } from '../../src/ca/index.js';
import type { AuditEvent } from '../../src/audit/index.js';
import { agentdb, type CliProcess, loginAgent, startProxyCli, startTestCluster, type ProxyReady, type TestCluster } from '../helpers/cluster.js';
import { loginAlice } from '../helpers/cluster.js';
import { clusterUserCa, gatewayPgClient, issueTaskCert, type ClientCert } from '../helpers/task-certs.js';
import { rejected } from '../helpers/expect-coded.js';

let tc: TestCluster;
let userCa: CertificateAuthority;
let agentHome: string;
let otherCaDir: string;

beforeAll(async () => {
  tc = await startTestCluster('gwrefuse');
  userCa = await clusterUserCa(tc);
  agentHome = await tc.newHome();
  await loginAgent(tc, agentHome);
  otherCaDir = await mkdtemp(path.join(tmpdir(), 'agentdb-other-ca-'));
});
afterAll(async () => {
  await tc?.close();
  if (otherCaDir) await rm(otherCaDir, { recursive: true, force: true });
});

const gw = () => tc.cluster.info.gateway;

const directClient = (cert: ClientCert): pg.Client => gatewayPgClient(tc, cert);

interface PgError {
  code?: string;
  severity?: string;
  message: string;
  hint?: string;
}

/** Connects, expecting a refusal; returns the error the client saw. */
function refused(client: pg.Client): Promise<Error & PgError> {
  client.on('error', () => undefined);
  return rejected(Error, client.connect().then(() => client.end()));
}

/** The denial events stored for an identity (optionally for one task), oldest first. */
async function denials(identity: string, task?: string): Promise<AuditEvent[]> {
  return tc.cluster.server.audit.search({ type: 'db.session.denied', user: identity, ...(task ? { task } : {}) });
}

/** The one new denial for `identity`, checked for the fields every denial has. */
async function expectDenial(identity: string, message: RegExp, task?: string): Promise<AuditEvent> {
  const events = await denials(identity, task);
  expect(events.length, `db.session.denied events for ${identity}`).toBe(1);
  const e = events[0]!;
  expect(e.identity?.name).toBe(identity);
  expect(e.message).toMatch(message);
  expect(e.client?.addr).toMatch(/^127\.0\.0\.1:\d+$/);
  expect(e.db?.service).toBeDefined();
  return e;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('certificates', () => {
  test('a certificate from another CA is refused as untrusted', async () => {
    const otherCa = await CertificateAuthority.loadOrCreate(otherCaDir, 'user', 'someone-elses-cluster');
    // Everything in it looks right, including a live login session; only the signer is wrong.
    const cert = await issueTaskCert(tc, otherCa, { identity: 'mallory-other-ca' });
    const err = await refused(directClient(cert));
    expect(err).toMatchObject({ code: '28000', severity: 'FATAL' });
    expect(err.message).toMatch(/task certificate was not issued by this cluster's certificate authority/);
    const e = await expectDenial('mallory-other-ca', /not issued by this cluster's certificate authority/);
    // The name came from a certificate nobody vouches for, and the event says so.
    expect(e.message).toMatch(/identity as claimed by an unverified certificate/);
  });

  test("a server certificate from the cluster's own host CA cannot log in", async () => {
    const hostCa = await CertificateAuthority.loadOrCreate(tc.dataDir, 'host', 'agentdb-dev');
    const server = await hostCa.issueServerCert({ hosts: ['host-cert-login.example'], ttlMs: 3600_000 });
    const like: ClientCert = { ...(await issueTaskCert(tc, userCa, { identity: 'unused' })), certPem: server.certPem, keyPem: server.keyPem };
    const err = await refused(directClient(like));
    expect(err).toMatchObject({ code: '28000' });
    expect(err.message).toMatch(/not issued by this cluster's certificate authority/);
    await expectDenial('host-cert-login.example', /not issued by this cluster's certificate authority/);
  });

  test('an expired certificate is refused as expired', async () => {
    const cert = await issueTaskCert(tc, userCa, { identity: 'expired-bot', notAfter: new Date(Date.now() + 1500) });
    await sleep(Math.max(0, cert.notAfter.getTime() - Date.now()) + 1100);
    const err = await refused(directClient(cert));
    expect(err).toMatchObject({ code: '28000', severity: 'FATAL' });
    expect(err.message).toBe(`task certificate expired at ${cert.notAfter.toISOString()}`);
    expect(err.hint).toMatch(/agentdb proxy/);
    await expectDenial('expired-bot', /task certificate expired at/);
  });

  test('an open session is ended by the gateway with a FATAL error when its certificate expires', async () => {
    // Long enough to log in on a loaded machine; the session must not outlive it.
    const cert = await issueTaskCert(tc, userCa, { identity: 'expiring-bot', notAfter: new Date(Date.now() + 6000) });
    const client = directClient(cert);
    const errors: PgError[] = [];
    client.on('error', (err) => errors.push(err as PgError));
    await client.connect();
    const app = (await client.query('SELECT application_name FROM pg_stat_activity WHERE pid = pg_backend_pid()')).rows[0].application_name as string;
    expect(cert.notAfter.getTime()).toBeGreaterThan(Date.now());

    const deadline = cert.notAfter.getTime() + 20_000;
    while (errors.length === 0 && Date.now() < deadline) await sleep(100);
    expect(errors.length, 'no error after the certificate expired').toBeGreaterThan(0);
    expect(errors[0]).toMatchObject({ code: '28000', severity: 'FATAL', message: expect.stringMatching(/task certificate expired at/) });
    expect(Date.now()).toBeGreaterThanOrEqual(cert.notAfter.getTime());
    await expect(client.query('SELECT 1')).rejects.toThrow();

    // Both sides are closed: the backend connection leaves pg_stat_activity, and the session's end is audited.
    const sid = /^agentdb (\S+) expiring-bot$/.exec(app)![1]!;
    const admin = new pg.Client({ connectionString: tc.cluster.info.databases[0]!.adminUrl });
    await admin.connect();
    try {
      let left = 1;
      for (let i = 0; i < 100 && left > 0; i++) {
        left = (await admin.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1', [app])).rows[0].n;
        if (left > 0) await sleep(100);
      }
      expect(left).toBe(0);
    } finally {
      await admin.end();
    }
    let ends: unknown[] = [];
    for (let i = 0; i < 50 && ends.length === 0; i++) {
      ends = await tc.cluster.server.audit.search({ sid, type: 'db.session.end' });
      if (ends.length === 0) await sleep(100);
    }
    expect(ends.length).toBe(1);
    // The recording says how the session ended.
    let last: { kind: string; data: unknown } | undefined;
    for (let i = 0; i < 50 && last?.kind !== 'end'; i++) {
      last = (await tc.cluster.server.store.readRecording(sid)).at(-1);
      if (last?.kind !== 'end') await sleep(100);
    }
    expect(last).toMatchObject({ kind: 'end', data: { reason: expect.stringMatching(/task certificate expired/) } });
  });

  test('a certificate from the right CA for a login session that does not exist is refused', async () => {
    const cert = await issueTaskCert(tc, userCa, { identity: 'ghost-session-bot', loginSession: 'no-such-login-session' });
    const err = await refused(directClient(cert));
    expect(err).toMatchObject({ code: '28000', severity: 'FATAL' });
    expect(err.message).toMatch(/the login behind this certificate \(ghost-session-bot\) was ended or revoked/);
    await expectDenial('ghost-session-bot', /was ended or revoked/);
  });

  test("a certificate whose roles need a trait it lacks is refused (the role's session settings cannot be applied)", async () => {
    // demo-agent sets app.region from the identity's region trait; without one the session cannot be set up as the role demands.
    const cert = await issueTaskCert(tc, userCa, { identity: 'traitless-agent', kind: 'agent', roles: ['demo-agent'], traits: {} });
    const err = await refused(directClient(cert));
    expect(err).toMatchObject({ code: '28000', severity: 'FATAL' });
    expect(err.message).toMatch(/your roles cannot open this session: .*trait "region"/);
    await expectDenial('traitless-agent', /trait "region"/);
  });

  test('a replication connection is refused', async () => {
    const cert = await issueTaskCert(tc, userCa, { identity: 'replication-bot' });
    // node-postgres sends `replication` as a startup parameter; its types do not list it.
    const config: pg.ClientConfig & { replication: string } = { replication: 'database' };
    const client = gatewayPgClient(tc, cert, config);
    const err = await refused(client);
    expect(err).toMatchObject({ code: '28000', severity: 'FATAL', message: 'replication connections are not allowed through the gateway' });
    await expectDenial('replication-bot', /replication connections are not allowed/);
  });

  test('TLS without a client certificate is refused and told to use agentdb proxy', async () => {
    const cert = await issueTaskCert(tc, userCa, { identity: 'unused-2' });
    const client = gatewayPgClient(tc, cert, { ssl: { ca: cert.serverCaPem } });
    const err = await refused(client);
    expect(err).toMatchObject({ code: '28000', severity: 'FATAL' });
    expect(err.message).toMatch(/no client certificate/);
    expect(err.hint).toMatch(/agentdb proxy/);
  });
});

describe('what the startup message asks for', () => {
  let proxy: { proc: CliProcess; ready: ProxyReady };
  const TASK = 'startup refusal test';
  beforeAll(async () => {
    proxy = await startProxyCli(agentHome, ['--db', 'customers', '--task', TASK]);
  });
  afterAll(async () => {
    await proxy?.proc.stop();
  });

  const viaProxy = (over: Partial<pg.ClientConfig>) =>
    new pg.Client({ host: proxy.ready.host, port: proxy.ready.port, user: 'app_rw', password: proxy.ready.password, database: tc.database, ssl: false, ...over });

  test('the proxy itself works (so the refusals below are about what is asked)', async () => {
    const c = viaProxy({});
    await c.connect();
    expect((await c.query('SELECT current_user AS u')).rows[0].u).toBe('app_rw');
    await c.end();
  });

  test('a database user the certificate does not allow (app_ro for an app_rw certificate)', async () => {
    const err = await refused(viaProxy({ user: 'app_ro' }));
    expect(err).toMatchObject({ code: '28000', severity: 'FATAL' });
    expect(err.message).toBe('database user "app_ro" is not allowed by your task certificate for "customers" (allowed: app_rw)');
    const e = (await denials('demo-agent', TASK)).filter((x) => x.db?.user === 'app_ro');
    expect(e.length).toBe(1);
    expect(e[0]).toMatchObject({ identity: { name: 'demo-agent', kind: 'agent' }, task: { reason: TASK }, db: { service: 'customers', user: 'app_ro' } });
    expect(e[0]!.message).toMatch(/database user "app_ro" is not allowed/);
  });

  test('a database name the certificate does not allow ("postgres")', async () => {
    const err = await refused(viaProxy({ database: 'postgres' }));
    expect(err).toMatchObject({ code: '28000', severity: 'FATAL' });
    expect(err.message).toBe(`database "postgres" is not allowed by your task certificate for "customers" (allowed: ${tc.database})`);
    const e = (await denials('demo-agent', TASK)).filter((x) => x.db?.name === 'postgres');
    expect(e.length).toBe(1);
    expect(e[0]!.message).toMatch(/database "postgres" is not allowed/);
  });

  test('the "options" startup parameter (PGOPTIONS) is refused', async () => {
    const err = await refused(viaProxy({ options: '-c search_path=pg_temp,public' }));
    expect(err).toMatchObject({ code: '28000', severity: 'FATAL' });
    expect(err.message).toMatch(/the "options" startup parameter is not allowed through the gateway/);
    expect(err.hint).toMatch(/PGOPTIONS/);
    const e = (await denials('demo-agent', TASK)).filter((x) => /"options"/.test(x.message ?? ''));
    expect(e.length).toBe(1);
  });

  test('plaintext to the gateway is refused with a hint to use agentdb proxy', async () => {
    const err = await refused(new pg.Client({ host: gw().host, port: gw().port, user: 'app_rw', database: tc.database, ssl: false }));
    expect(err).toMatchObject({ code: '28000', severity: 'FATAL' });
    expect(err.message).toMatch(/the agentdb gateway requires TLS with a task certificate/);
    expect(err.hint).toMatch(/agentdb proxy --db NAME/);
  });
});

describe('the audit log, read as a person who may read it', () => {
  test('audit search --type db.session.denied lists every refusal above with who and why', async () => {
    const home = await tc.newHome();
    await loginAlice(tc, home);

    const r = await agentdb(home, ['audit', 'search', '--type', 'db.session.denied', '--limit', '1000', '--format', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as AuditEvent);
    const byName = (n: string) => events.filter((e) => e.identity?.name === n);
    for (const n of ['mallory-other-ca', 'host-cert-login.example', 'expired-bot', 'ghost-session-bot', 'replication-bot', 'traitless-agent']) expect(byName(n).length, n).toBe(1);
    expect(byName('demo-agent').length).toBe(3);
    for (const e of events) {
      expect(e.type).toBe('db.session.denied');
      expect(e.code).toBeTruthy();
      expect(e.message).toBeTruthy();
    }
  });
});
