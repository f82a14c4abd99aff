// Database users provisioned per identity and role set, against the run's real PostgreSQL: the role's grants,
// its lifetime, what is left after the last session (drop / keep), crash leftovers, locks that end backends at
// PostgreSQL, 50 parallel sessions over two role sets, and the failure modes (no CREATEROLE, a name taken by
// someone else's role, PostgreSQL gone mid-provisioning).
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { inject } from 'vitest';
import pg from 'pg';
import { devDatabasePassword, type Config } from '../../src/server/index.js';
import { roleSchema, type RoleInput } from '../../src/policy/index.js';
import { Provisioner, provisionedRoleName, type BackendTarget } from '../../src/gateway/index.js';
import { eventually, startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { apiClient, loginClient, requestCert, gatewayClient, type ApiClient } from '../helpers/api-session.js';
import { clusterUserCa, gatewayPgClient, issueTaskCert, type ClientCert } from '../helpers/task-certs.js';
import type { CertificateAuthority } from '../../src/ca/index.js';

const EXTRA_GROUP = 'prov_test_extra';
const ADMIN = 'agentdb_admin';

let tc: TestCluster;
let api: ApiClient;
let ca: CertificateAuthority;
let su: pg.Client;
let flaky: FlakyPort;
const adminUrl = inject('pgAdminUrl');
const pgTarget = (): BackendTarget => ({ host: new URL(adminUrl).hostname, port: Number(new URL(adminUrl).port), sslmode: 'disable' });
const scope = () => `agentdb-dev/${tc.database}`;

/** A TCP relay to PostgreSQL that the test can take down (every connection cut, nothing accepted) and bring back. */
class FlakyPort {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  port = 0;

  async up(): Promise<void> {
    const target = pgTarget();
    this.server = net.createServer((c) => {
      const up = net.connect(target.port, target.host);
      for (const s of [c, up]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => s.destroy());
      }
      c.pipe(up).pipe(c);
      c.on('close', () => up.destroy());
      up.on('close', () => c.destroy());
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  async down(): Promise<void> {
    const closed = new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }
}

const role = (r: RoleInput) => roleSchema.parse(r);
const allowAll: RoleInput['rules'] = [{ name: 'anything-read', action: 'allow', match: { kinds: ['select', 'show', 'transaction', 'empty'] } }];

function provisionedGrant(service: string, roles: string[], mode: 'keep' | 'drop', database: string): NonNullable<RoleInput['databases']>[number] {
  return { service, names: [database], users: ['auto'], provision: { roles, mode } };
}

function configure(database: string) {
  return (c: Config) => {
    const t = c.databases.customers!;
    c.roles['prov-drop'] = role({ databases: [provisionedGrant('customers', ['customers_agent'], 'drop', database)], rules: allowAll });
    c.roles['prov-extra'] = role({ databases: [provisionedGrant('customers', [EXTRA_GROUP], 'drop', database)], rules: allowAll });
    c.roles['prov-keep'] = role({ databases: [provisionedGrant('customers', ['customers_agent'], 'keep', database)], rules: allowAll });
    c.roles['prov-weak'] = role({ databases: [provisionedGrant('weak', ['customers_agent'], 'drop', database)], rules: allowAll });
    c.roles['prov-flaky'] = role({ databases: [provisionedGrant('flaky', ['customers_agent'], 'drop', database)], rules: allowAll });
    // An admin without CREATEROLE (app_ro can log in, nothing more).
    c.databases.weak = { ...t, credentials: {}, admin: { user: 'app_ro', password: devDatabasePassword(adminUrl, 'app_ro'), database: 'postgres', scope: `weak/${database}` } };
    // The same PostgreSQL behind a relay the test takes down.
    c.databases.flaky = { ...t, port: flaky.port, credentials: {}, admin: { ...t.admin!, scope: `flaky/${database}` } };
  };
}

beforeAll(async () => {
  flaky = new FlakyPort();
  await flaky.up();
  su = new pg.Client({ connectionString: adminUrl });
  await su.connect();
  await su.query('SELECT pg_advisory_lock(7432)');
  if ((await su.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [EXTRA_GROUP])).rowCount === 0) await su.query(`CREATE ROLE ${EXTRA_GROUP} NOLOGIN`);
  await su.query('SELECT pg_advisory_unlock(7432)');
  tc = await startTestCluster('provisioning', (c) => configure(c.roles['demo-agent']!.databases[0]!.names[0]!)(c), { provisionAgent: true });
  await su.query(`GRANT ${EXTRA_GROUP} TO ${ADMIN} WITH ADMIN OPTION`);
  api = await apiClient(tc);
  ca = await clusterUserCa(tc);
});
afterAll(async () => {
  await api?.close();
  await tc?.close();
  await su?.end();
  await flaky?.down();
});

const connect = (cert: ClientCert): pg.Client => gatewayPgClient(tc, cert, { user: 'auto' });

function cert(identity: string, roles: string[], extra: { service?: string; reason?: string; notAfter?: Date } = {}): Promise<ClientCert> {
  // People: the agent rules refuse pg_sleep, which the lock tests use to keep a backend busy.
  return issueTaskCert(tc, ca, { identity, kind: 'human', roles, users: ['auto'], ...extra });
}

interface RoleRow {
  rolcanlogin: boolean;
  rolvaliduntil: Date | null;
  rolpassword: string | null;
  grants: string[];
}

async function roleRow(name: string): Promise<RoleRow | undefined> {
  const r = await su.query<RoleRow>(
    `SELECT a.rolcanlogin, a.rolvaliduntil, a.rolpassword,
            coalesce((SELECT array_agg(g.rolname::text ORDER BY g.rolname) FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid WHERE m.member = a.oid), '{}') AS grants
     FROM pg_authid a WHERE a.rolname = $1`, [name]);
  return r.rows[0];
}

const gone = (name: string) => eventually(async () => ((await roleRow(name)) ? undefined : true), `role ${name} dropped`);

describe('a provisioned session', () => {
  test('logs in as agentdb:<identity>:<hash> with exactly the configured grants, valid until the certificate expires; dropped after', async () => {
    // The demo agent through the real login and certificate API: its default database user is `auto`.
    const token = await loginClient(tc, api);
    const direct = await requestCert(tc, api, token, { db: 'customers', task: 'provisioning basics' });
    expect(direct.db.users).toEqual(['auto']);
    const client = gatewayClient(tc, direct);
    client.on('error', () => undefined);
    await client.connect();
    const me = (await client.query('SELECT current_user AS u, session_user AS s, pg_backend_pid() AS pid')).rows[0];
    expect(me.u).toMatch(/^agentdb:demo-agent:[0-9a-f]{10}$/);
    expect(me.s).toBe(me.u);
    expect(me.u).toBe(provisionedRoleName(scope(), 'demo-agent', ['customers_agent']));
    const row = (await roleRow(me.u))!;
    expect(row.grants).toEqual(['customers_agent']);
    expect(row.rolcanlogin).toBe(true);
    // Only a SCRAM verifier is stored: the password never reached PostgreSQL.
    expect(row.rolpassword).toMatch(/^SCRAM-SHA-256\$4096:/);
    const certExpiry = new Date(String((await tc.cluster.server.audit.search({ task: direct.task.id, type: 'db.session.start' }))[0]!.details?.expiresAt));
    expect(Math.abs(row.rolvaliduntil!.getTime() - certExpiry.getTime())).toBeLessThan(1000);
    // pg_stat_activity names the provisioned user for the session's backend.
    const act = await su.query('SELECT usename FROM pg_stat_activity WHERE pid = $1', [me.pid]);
    expect(act.rows[0].usename).toBe(me.u);
    // PostgreSQL itself refuses the column the group was not granted; the granted ones are read (email masked).
    await expect(client.query('SELECT ssn FROM customers LIMIT 1')).rejects.toMatchObject({ code: '42501' });
    const c = (await client.query('SELECT id, email FROM customers ORDER BY id LIMIT 1')).rows[0];
    expect(c.email).toMatch(/^\*\*\*@example\.com$/);
    // The audit log names the database user PostgreSQL saw.
    const start = (await tc.cluster.server.audit.search({ task: direct.task.id, type: 'db.session.start' }))[0]!;
    expect(start.db?.user).toBe(me.u);
    await client.end();
    await gone(me.u);
  });

  test('an identity with quotes, semicolons and 60 multibyte characters is one safely quoted role of at most 63 bytes', async () => {
    const identity = `o"brien'; DROP ROLE agentdb_admin; --${'é'.repeat(60)}`;
    const name = provisionedRoleName(scope(), identity, ['customers_agent']);
    expect(Buffer.byteLength(name)).toBeLessThanOrEqual(63);
    const client = connect(await cert(identity, ['prov-drop']));
    await client.connect();
    expect((await client.query('SELECT current_user AS u')).rows[0].u).toBe(name);
    expect((await roleRow(ADMIN))).toBeDefined();
    await client.end();
    await gone(name);
  });

  test('drop: what the admin can take away goes with the role; what it cannot (a superuser\'s GRANT) leaves it disabled, and dropped at the next start', async () => {
    const name = provisionedRoleName(scope(), 'granted-agent', ['customers_agent']);
    const client = connect(await cert('granted-agent', ['prov-drop']));
    await client.connect();
    // No other session of this scope is open now: the second Provisioner below plays the restarted gateway.
    const u = new URL(adminUrl);
    u.pathname = `/${tc.database}`;
    const db = new pg.Client({ connectionString: u.toString() });
    await db.connect();
    try {
      await db.query(`GRANT SELECT (ssn) ON customers TO "${name}"`);
      await client.end();
      const disabled = await eventually(async () => {
        const r = await roleRow(name);
        return r && !r.rolcanlogin ? r : undefined;
      }, 'the role disabled');
      expect(disabled).toMatchObject({ grants: [], rolpassword: null });
      await db.query(`REVOKE SELECT (ssn) ON customers FROM "${name}"`);
      const admin = { user: ADMIN, password: devDatabasePassword(adminUrl, ADMIN), database: 'postgres' };
      const restarted = new Provisioner(pgTarget(), admin, scope());
      try {
        expect(await restarted.cleanLeftovers()).toContain(name);
      } finally {
        await restarted.close();
      }
      expect(await roleRow(name)).toBeUndefined();
    } finally {
      await db.end();
    }
  });

  test('keep: after the last session the role stays, without grants, NOLOGIN and without a password; the next session reactivates it', async () => {
    const name = provisionedRoleName(scope(), 'keeper', ['customers_agent']);
    const a = connect(await cert('keeper', ['prov-keep']));
    const b = connect(await cert('keeper', ['prov-keep']));
    await a.connect();
    await b.connect();
    expect((await a.query('SELECT current_user AS u')).rows[0].u).toBe(name);
    await a.end();
    // One session still open: nothing changes.
    expect((await b.query('SELECT count(*)::int AS n FROM orders')).rows[0].n).toBeGreaterThanOrEqual(0);
    expect((await roleRow(name))!.rolcanlogin).toBe(true);
    await b.end();
    const kept = await eventually(async () => {
      const r = await roleRow(name);
      return r && !r.rolcanlogin ? r : undefined;
    }, 'role disabled');
    expect(kept.grants).toEqual([]);
    expect(kept.rolpassword).toBeNull();
    const again = connect(await cert('keeper', ['prov-keep']));
    await again.connect();
    expect((await again.query('SELECT current_user AS u')).rows[0].u).toBe(name);
    expect((await roleRow(name))!.grants).toEqual(['customers_agent']);
    await again.end();
  });

  test('50 parallel sessions of one identity over two role sets: two roles, each with its own grants, both dropped after', async () => {
    const setA = ['prov-drop'];
    const setB = ['prov-drop', 'prov-extra'];
    const nameA = provisionedRoleName(scope(), 'parallel-agent', ['customers_agent']);
    const nameB = provisionedRoleName(scope(), 'parallel-agent', ['customers_agent', EXTRA_GROUP]);
    expect(nameA).not.toBe(nameB);
    const certs = await Promise.all(Array.from({ length: 50 }, (_, i) => cert('parallel-agent', i % 2 ? setB : setA)));
    const clients = certs.map((c) => connect(c));
    await Promise.all(clients.map((c) => c.connect()));
    const users = await Promise.all(clients.map(async (c) => (await c.query('SELECT current_user AS u')).rows[0].u as string));
    users.forEach((u, i) => expect(u).toBe(i % 2 ? nameB : nameA));
    expect((await roleRow(nameA))!.grants).toEqual(['customers_agent']);
    expect((await roleRow(nameB))!.grants).toEqual(['customers_agent', EXTRA_GROUP].sort());
    const counts = await su.query('SELECT usename, count(*)::int AS n FROM pg_stat_activity WHERE usename = ANY($1) GROUP BY usename', [[nameA, nameB]]);
    expect(Object.fromEntries(counts.rows.map((r) => [r.usename, r.n]))).toEqual({ [nameA]: 25, [nameB]: 25 });
    // Half of them end: both roles stay and still serve the other half.
    await Promise.all(clients.slice(0, 24).map((c) => c.end()));
    expect((await clients[24]!.query('SELECT current_user AS u')).rows[0].u).toBe(nameA);
    expect((await clients[25]!.query('SELECT current_user AS u')).rows[0].u).toBe(nameB);
    expect((await roleRow(nameA))?.rolcanlogin).toBe(true);
    expect((await roleRow(nameB))?.rolcanlogin).toBe(true);
    await Promise.all(clients.slice(24).map((c) => c.end()));
    await gone(nameA);
    await gone(nameB);
  });
});

describe('locks reach PostgreSQL', () => {
  test('a user lock terminates the identity\'s running backends within a second and disables its role', async () => {
    const reviewer = await loginClient(tc, api, 'demo-reviewer');
    const name = provisionedRoleName(scope(), 'lock-target', ['customers_agent']);
    const client = connect(await cert('lock-target', ['prov-keep']));
    await client.connect();
    const pid = (await client.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
    const running = client.query('SELECT pg_sleep(30)').then(() => 'finished', (err: Error & { code?: string }) => err);
    await eventually(async () => ((await su.query("SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND query LIKE '%pg_sleep%'", [pid])).rowCount ? true : undefined), 'the sleep to run');
    const lock = await api.call('POST', '/v1/locks', { token: reviewer, body: { user: 'lock-target', reason: 'incident 12' } });
    expect(lock.status).toBe(200);
    const locked = Date.now();
    await eventually(async () => ((await su.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid])).rowCount === 0 ? true : undefined), 'the backend to end', 1000);
    expect(Date.now() - locked).toBeLessThanOrEqual(1000);
    expect(await running).not.toBe('finished');
    await eventually(async () => ((await roleRow(name))!.rolcanlogin ? undefined : true), 'the role disabled', 1000);
    // New sessions are refused while the lock holds.
    const after = connect(await cert('lock-target', ['prov-keep']));
    await expect(after.connect()).rejects.toMatchObject({ code: '28000' });
    expect((await api.call('DELETE', `/v1/locks/${lock.body.id as string}`, { token: reviewer })).status).toBe(200);
  });

  test('a task lock matches the task text, ends that task\'s backend and leaves the identity\'s other task alone; an unseen target is refused unless --future', async () => {
    const reviewer = await loginClient(tc, api, 'demo-reviewer');
    const hit = connect(await cert('task-target', ['prov-drop'], { reason: 'check nightly refunds for EU' }));
    const other = connect(await cert('task-target', ['prov-drop'], { reason: 'count orders' }));
    await hit.connect();
    await other.connect();
    const pid = (await hit.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
    const running = hit.query('SELECT pg_sleep(30)').then(() => 'finished', (err: Error) => err);
    await eventually(async () => ((await su.query("SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND query LIKE '%pg_sleep%'", [pid])).rowCount ? true : undefined), 'the sleep to run');
    const lock = await api.call('POST', '/v1/locks', { token: reviewer, body: { task: 'NIGHTLY refunds', reason: 'wrong region' } });
    expect(lock.status).toBe(200);
    const locked = Date.now();
    await eventually(async () => ((await su.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid])).rowCount === 0 ? true : undefined), 'the backend to end', 1000);
    expect(Date.now() - locked).toBeLessThanOrEqual(1000);
    expect(await running).not.toBe('finished');
    expect((await other.query('SELECT 1 AS one')).rows[0].one).toBe(1);
    await other.end();
    expect((await api.call('DELETE', `/v1/locks/${lock.body.id as string}`, { token: reviewer })).status).toBe(200);

    const unseen = await api.call('POST', '/v1/locks', { token: reviewer, body: { task: 'a task nobody ran', reason: 'just in case' } });
    expect(unseen.status).toBe(404);
    expect(unseen.body.error).toMatchObject({ code: 'AGENTDB_ERR_LOCK_NO_MATCH', message: expect.stringMatching(/--future/) });
    const unseenUser = await api.call('POST', '/v1/locks', { token: reviewer, body: { user: 'nobody-yet', reason: 'just in case' } });
    expect(unseenUser.status).toBe(404);
    const future = await api.call('POST', '/v1/locks', { token: reviewer, body: { task: 'a task nobody ran', reason: 'just in case', future: true } });
    expect(future.status).toBe(200);
    // The future lock applies to a task of that text when it comes.
    const later = connect(await cert('task-target', ['prov-drop'], { reason: 'A task nobody ran, yet' }));
    await expect(later.connect()).rejects.toMatchObject({ code: '28000', message: expect.stringMatching(/locked/) });
    expect((await api.call('DELETE', `/v1/locks/${future.body.id as string}`, { token: reviewer })).status).toBe(200);
  });
});

describe('crash leftovers', () => {
  test('a gateway start deactivates its scope\'s roles that no session uses, and leaves other scopes and foreign roles alone', async () => {
    const admin = { user: ADMIN, password: devDatabasePassword(adminUrl, ADMIN), database: 'postgres' };
    const crashed = new Provisioner(pgTarget(), admin, 'crash-test/a');
    const otherScope = new Provisioner(pgTarget(), admin, 'crash-test/b');
    const until = new Date(Date.now() + 3600_000);
    const dropLeft = await crashed.acquire('crash-agent', { roles: ['customers_agent'], mode: 'drop' }, until);
    const keepLeft = await crashed.acquire('crash-keeper', { roles: ['customers_agent'], mode: 'keep' }, until);
    const foreign = await otherScope.acquire('crash-agent', { roles: ['customers_agent'], mode: 'drop' }, until);
    await su.query('CREATE ROLE "agentdb:not-ours" NOLOGIN');
    // The "crash": the process goes without releasing anything.
    await crashed.close();
    const restarted = new Provisioner(pgTarget(), admin, 'crash-test/a');
    expect((await restarted.cleanLeftovers()).sort()).toEqual([dropLeft.user, keepLeft.user].sort());
    expect(await roleRow(dropLeft.user)).toBeUndefined();
    expect(await roleRow(keepLeft.user)).toMatchObject({ rolcanlogin: false, grants: [], rolpassword: null });
    expect(await roleRow(foreign.user)).toMatchObject({ rolcanlogin: true });
    expect(await roleRow('agentdb:not-ours')).toBeDefined();
    foreign.release();
    await otherScope.close();
    await restarted.close();
    await gone(foreign.user);
    await su.query('DROP ROLE "agentdb:not-ours"');
    await su.query(`DROP ROLE "${keepLeft.user}"`);
  });
});

describe('failure modes', () => {
  test('an admin without CREATEROLE: the client gets 42501 with what to do, and the audit log has the failed start', async () => {
    const c = await cert('weak-agent', ['prov-weak'], { service: 'weak' });
    const client = connect(c);
    const err = await client.connect().then(() => undefined, (e: Error & { code?: string; hint?: string }) => e);
    expect(err).toMatchObject({ code: '42501', message: expect.stringMatching(/could not provision database user "agentdb:weak-agent:[0-9a-f]+": permission denied to create role/) });
    expect(err!.hint).toMatch(/CREATEROLE/);
    const ev = (await tc.cluster.server.audit.search({ task: c.payload.task.id, type: 'db.session.start' }))[0]!;
    expect(ev.result?.error).toMatchObject({ code: '42501' });
    expect(await roleRow(provisionedRoleName(`weak/${tc.database}`, 'weak-agent', ['customers_agent']))).toBeUndefined();
  });

  test('a role of that name that agentdb did not make: refused (42710), and the role is left as it was', async () => {
    const name = provisionedRoleName(scope(), 'collider', ['customers_agent']);
    await su.query(`CREATE ROLE "${name}" NOLOGIN`);
    try {
      const c = await cert('collider', ['prov-drop']);
      const client = connect(c);
      await expect(client.connect()).rejects.toMatchObject({ code: '42710', message: expect.stringMatching(/exists and was not made by this agentdb gateway/) });
      const ev = (await tc.cluster.server.audit.search({ task: c.payload.task.id, type: 'db.session.start' }))[0]!;
      expect(ev.result?.error?.code).toBe('42710');
      expect(await roleRow(name)).toMatchObject({ rolcanlogin: false, grants: [] });
    } finally {
      await su.query(`DROP ROLE "${name}"`);
    }
  });

  test('PostgreSQL gone mid-provisioning: the client gets 08006, nothing half-made is left, and the next session works', async () => {
    const name = provisionedRoleName(`flaky/${tc.database}`, 'flaky-agent', ['customers_agent']);
    // Hold the role's advisory lock, so that provisioning is caught inside its transaction.
    const holder = new pg.Client({ connectionString: adminUrl });
    await holder.connect();
    await holder.query('SELECT pg_advisory_lock(hashtext($1))', [name]);
    const c = await cert('flaky-agent', ['prov-flaky'], { service: 'flaky' });
    const client = connect(c);
    const failed = client.connect().then(() => undefined, (e: Error & { code?: string }) => e);
    await eventually(async () => ((await su.query("SELECT 1 FROM pg_stat_activity WHERE application_name = 'agentdb provisioning' AND wait_event_type = 'Lock'")).rowCount ? true : undefined), 'provisioning to wait for the lock');
    await flaky.down();
    const err = await failed;
    expect(err).toMatchObject({ code: '08006', message: expect.stringMatching(/database unavailable/) });
    const ev = await eventually(async () => (await tc.cluster.server.audit.search({ task: c.payload.task.id, type: 'db.session.start' }))[0], 'the failed start in the audit log');
    expect(ev.result?.error?.code).toBe('08006');
    await holder.end();
    expect(await roleRow(name)).toBeUndefined();
    await flaky.up();
    const again = connect(await cert('flaky-agent', ['prov-flaky'], { service: 'flaky' }));
    await again.connect();
    expect((await again.query('SELECT current_user AS u')).rows[0].u).toBe(name);
    await again.end();
    await gone(name);
  });
});
