// What an agent can take and hold through the gateway: data budgets in rows and bytes (errors included) per
// task and per identity across tasks, forced idle-in-transaction and lock timeouts, advisory locks, and the
// demo's row-level security on orders keyed on the identity's region. Real PostgreSQL, real certificates.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import pg from 'pg';
import { CertificateAuthority } from '../../src/ca/index.js';
import type { Role } from '../../src/policy/index.js';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { clusterUserCa, gatewayPgClient, issueTaskCert, type CertSpec } from '../helpers/task-certs.js';
import { rejected } from '../helpers/expect-coded.js';
import { Wire, errorOf } from '../helpers/wire.js';

let tc: TestCluster;
let userCa: CertificateAuthority;
let admin: pg.Client;
const open: pg.Client[] = [];

const TASK_BYTES = 20_000;
const IDENTITY_BYTES = 25_000;
// One DataRow of `SELECT repeat('x', 10000)`: 5 bytes of header, 2 of column count, 4 of length, the value.
const ROW_OF_10K = 10_011;

beforeAll(async () => {
  tc = await startTestCluster('budgets', (config) => {
    // The demo agent's rules and settings, without masking (not what this is about) and with small budgets.
    const { masking: _m, budget: _b, ...base } = config.roles['demo-agent']!;
    const role = (extra: Partial<Role>): Role => ({ ...base, ...extra });
    config.roles['task-budget'] = role({ budget: { bytes: TASK_BYTES } });
    config.roles['identity-budget'] = role({ budget: { bytes: 1_000_000, perIdentity: { bytes: IDENTITY_BYTES, window: '1h' } } });
    config.roles['idle-agent'] = role({ session: { settings: { ...base.session.settings, idle_in_transaction_session_timeout: '1s' } } });
    config.roles.locker = role({ allowAdvisoryLocks: true });
  });
  userCa = await clusterUserCa(tc);
  admin = new pg.Client({ connectionString: tc.cluster.info.databases[0]!.adminUrl });
  await admin.connect();
  // A function that says a lot in a NOTICE: what a notice can carry out of the database.
  await admin.query(`CREATE FUNCTION public.noisy(n int) RETURNS int LANGUAGE plpgsql AS $$
    BEGIN RAISE NOTICE '%', repeat('n', n); RETURN n; END $$`);
}, 120_000);

afterAll(async () => {
  for (const c of open) await c.end().catch(() => undefined);
  await admin?.end();
  await tc?.close();
});

interface PgError {
  code?: string;
  message: string;
}

/** node-postgres straight to the gateway with a fresh task certificate (a new task id each time). */
async function connect(spec: CertSpec): Promise<pg.Client> {
  const cert = await issueTaskCert(tc, userCa, spec);
  const client = gatewayPgClient(tc, cert, { user: cert.payload.db.users[0]! });
  await client.connect();
  open.push(client);
  return client;
}

const agent = (identity: string, role: string, extra: Partial<CertSpec> = {}): CertSpec => ({ identity, kind: 'agent', roles: [role], traits: { region: ['us-east'] }, ...extra });

const failure = (p: Promise<unknown>): Promise<Error & PgError> => rejected(Error, p);

describe('data budgets', () => {
  test('one row of json_agg over the whole table is cut off by the byte budget, and the task is spent', async () => {
    // Without a budget the one row is far larger than the task's bytes (and it is one row: a row limit would not see it).
    const { rows } = await admin.query("SELECT length(json_agg(o)::text) AS n FROM orders o WHERE region = 'us-east'");
    expect(rows[0].n).toBeGreaterThan(5 * TASK_BYTES);
    const c = await connect(agent('bytes-agent', 'task-budget'));
    expect((await c.query("SELECT repeat('x', 1000) AS x")).rows[0].x).toHaveLength(1000);
    const err = await failure(c.query('SELECT json_agg(o) FROM orders o'));
    expect(err.code).toBe('54000');
    expect(err.message).toMatch(new RegExp(`data budget of task tsk_\\S+ exceeded \\(task: \\d+ of ${TASK_BYTES} bytes\\); the rest of the result was not delivered`));
    // Spent for good: the next statement of this task is refused before it runs.
    const next = await failure(c.query('SELECT 1'));
    expect(next.code).toBe('42501');
    expect(next.message).toMatch(/denied by agentdb policy \(rule budget\): the data budget of task \S+ is spent/);
  });

  test('an error message counts as data: one past the budget is replaced by the budget error', async () => {
    const payload = 'x'.repeat(3 * TASK_BYTES);
    // The demo agent's budget is far larger: there PostgreSQL's own error, value and all, comes back.
    const roomy = await connect(agent('roomy-agent', 'demo-agent'));
    const own = await failure(roomy.query(`SELECT '${payload}'::int`));
    expect(own.code).toBe('22P02');
    expect(own.message).toContain(payload);
    const c = await connect(agent('error-agent', 'task-budget'));
    const err = await failure(c.query(`SELECT '${payload}'::int`));
    expect(err.code).toBe('54000');
    expect(err.message).toMatch(/data budget of task \S+ exceeded/);
    expect(err.message).not.toContain('xxxxxxxxxx');
  });

  test('notices and COPY data count too: past the budget they are not delivered and the statement fails', async () => {
    const notices: string[] = [];
    const roomy = await connect(agent('roomy-notice-agent', 'identity-budget'));
    roomy.on('notice', (m) => notices.push(m.message ?? ''));
    await roomy.query('SELECT noisy(10)');
    expect(notices).toEqual(['nnnnnnnnnn']);

    const c = await connect(agent('notice-agent', 'task-budget'));
    c.on('notice', (m) => notices.push(m.message ?? ''));
    const err = await failure(c.query(`SELECT noisy(${3 * TASK_BYTES})`));
    expect(err.code).toBe('54000');
    expect(notices).toEqual(['nnnnnnnnnn']);

    // COPY TO STDOUT on the wire: the CopyOutResponse comes, the data and CopyDone do not, the end is the budget's error.
    const cert = await issueTaskCert(tc, userCa, agent('copy-agent', 'task-budget'));
    const w = await Wire.tls(tc.cluster.info.gateway, cert);
    try {
      expect((await w.startup({ user: 'app_rw', database: tc.database })).error).toBeUndefined();
      const out = await w.query(`COPY (SELECT repeat('c', ${3 * TASK_BYTES})) TO STDOUT`);
      expect(out.map((m) => m.type).join('')).toBe('HEZ');
      expect(errorOf(out[1]!)).toMatchObject({ code: '54000', message: expect.stringMatching(/data budget of task \S+ exceeded/) });
    } finally {
      w.close();
    }
  });

  test('a new task of the same identity draws on the same hourly budget; another identity does not', async () => {
    const first = await connect(agent('window-agent', 'identity-budget'));
    for (let i = 0; i < 2; i++) expect((await first.query("SELECT repeat('x', 10000) AS x")).rows[0].x).toHaveLength(10_000);
    expect(2 * ROW_OF_10K).toBeLessThan(IDENTITY_BYTES);
    // A new task certificate, a new task id: its own task budget is untouched, the identity's is not.
    const second = await connect(agent('window-agent', 'identity-budget'));
    const err = await failure(second.query("SELECT repeat('x', 10000) AS x"));
    expect(err.code).toBe('54000');
    expect(err.message).toMatch(new RegExp(`window-agent in the last 1h: ${2 * ROW_OF_10K} of ${IDENTITY_BYTES} bytes`));
    // And the next task after that is refused from its first statement.
    const third = await connect(agent('window-agent', 'identity-budget'));
    const refused = await failure(third.query('SELECT 1'));
    expect(refused.code).toBe('42501');
    expect(refused.message).toMatch(/rule budget/);
    const other = await connect(agent('window-agent-2', 'identity-budget'));
    expect((await other.query("SELECT repeat('x', 10000) AS x")).rows[0].x).toHaveLength(10_000);
  });
});

describe('locks an agent can hold', () => {
  const advisoryHeld = async (key: number) =>
    (await admin.query("SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND objid = $1 AND granted", [key])).rows[0].n as number;

  test('the demo agent is refused advisory locks; a role with allowAdvisoryLocks may take them', async () => {
    const c = await connect(agent('lock-agent', 'demo-agent'));
    const err = await failure(c.query('BEGIN; SELECT pg_advisory_lock(42)'));
    expect(err.code).toBe('42501');
    expect(err.message).toMatch(/rule agent-safe:no-advisory-locks/);
    await c.query('ROLLBACK');
    for (const sql of ['SELECT pg_advisory_xact_lock(42)', 'SELECT pg_try_advisory_lock(42)']) {
      expect((await failure(c.query(sql))).message, sql).toMatch(/no-advisory-locks/);
    }
    expect(await advisoryHeld(42)).toBe(0);

    const locker = await connect(agent('locker-agent', 'locker'));
    await locker.query('SELECT pg_advisory_lock(43)');
    expect(await advisoryHeld(43)).toBe(1);
    await locker.query('SELECT pg_advisory_unlock(43)');
    expect(await advisoryHeld(43)).toBe(0);
  });

  test('agents run with forced lock and idle-in-transaction timeouts they cannot change; people do not', async () => {
    const c = await connect(agent('timeout-agent', 'demo-agent'));
    expect((await c.query('SHOW lock_timeout')).rows[0].lock_timeout).toBe('10s');
    expect((await c.query('SHOW idle_in_transaction_session_timeout')).rows[0].idle_in_transaction_session_timeout).toBe('1min');
    // A plain SET of them is answered as done (pg_dump sends them) and changes nothing; set_config is refused.
    for (const sql of ['SET idle_in_transaction_session_timeout = 0', "SET lock_timeout = '1h'"]) expect((await c.query(sql)).command, sql).toBe('SET');
    const err = await failure(c.query("SELECT set_config('lock_timeout', '0', false)"));
    expect(err.code).toBe('42501');
    expect(err.message).toMatch(/rule forced-setting/);
    expect((await c.query('SHOW lock_timeout')).rows[0].lock_timeout).toBe('10s');
    expect((await c.query('SHOW idle_in_transaction_session_timeout')).rows[0].idle_in_transaction_session_timeout).toBe('1min');
    const person = await connect({ identity: 'timeout-person', kind: 'human', roles: ['support'], traits: { region: ['eu'] } });
    expect((await person.query('SHOW lock_timeout')).rows[0].lock_timeout).toBe('0');
    expect((await person.query('SHOW idle_in_transaction_session_timeout')).rows[0].idle_in_transaction_session_timeout).toBe('0');
  });

  test('a transaction left idle is ended by PostgreSQL after the timeout, and its row locks go with it', async () => {
    const c = await connect(agent('idle-agent', 'idle-agent'));
    const ended = new Promise<PgError>((resolve) => c.on('error', (err) => resolve(err as PgError)));
    await c.query('BEGIN');
    const id = (await c.query('SELECT id FROM orders ORDER BY id LIMIT 1 FOR UPDATE')).rows[0].id as number;
    const err = await ended;
    expect(err.code).toBe('25P03');
    expect(err.message).toMatch(/idle-in-transaction timeout/);
    // Nobody waits behind the row lock it held.
    await admin.query('BEGIN');
    try {
      expect((await admin.query('SELECT id FROM orders WHERE id = $1 FOR UPDATE NOWAIT', [id])).rowCount).toBe(1);
    } finally {
      await admin.query('ROLLBACK');
    }
  });
});

describe("the demo's row-level security", () => {
  test('each identity sees and writes the orders of its own region only; a session without one sees none', async () => {
    const perRegion = async (region: string) => (await admin.query('SELECT count(*)::int AS n FROM orders WHERE region = $1', [region])).rows[0].n as number;
    const usEast = await perRegion('us-east');
    const total = (await admin.query('SELECT count(*)::int AS n FROM orders')).rows[0].n as number;
    expect(usEast).toBeGreaterThan(0);
    expect(usEast).toBeLessThan(total);

    const c = await connect(agent('region-agent', 'demo-agent'));
    expect((await c.query('SELECT DISTINCT region FROM orders')).rows).toEqual([{ region: 'us-east' }]);
    expect((await c.query('SELECT count(*)::int AS n FROM orders')).rows[0].n).toBe(usEast);
    const write = await failure(c.query("INSERT INTO orders (customer_id, region, amount, status) VALUES (1, 'eu', 1, 'paid')"));
    expect(write.code).toBe('42501');
    expect(write.message).toMatch(/row-level security/);

    // A person of the support role, through the read-only database user: the eu orders.
    const person = await connect({ identity: 'region-person', kind: 'human', roles: ['support'], traits: { region: ['eu'] }, users: ['app_ro'] });
    expect((await person.query('SELECT DISTINCT region FROM orders')).rows).toEqual([{ region: 'eu' }]);
    expect((await person.query('SELECT count(*)::int AS n FROM orders')).rows[0].n).toBe(await perRegion('eu'));

    // A reviewer without a region trait (whose role sets no app.region): no orders at all (fail closed).
    const reviewer = await connect({ identity: 'region-reviewer', kind: 'human', roles: ['reviewer'], traits: {}, users: ['app_ro'] });
    expect((await reviewer.query('SELECT count(*)::int AS n FROM orders')).rows[0].n).toBe(0);
  });
});

describe('catalog reads', () => {
  test('what only reads the system catalogs does not count against the budget; a table read does', async () => {
    const c = await connect(agent('catalog-reader', 'task-budget'));
    // Far more than the task's 20,000 bytes of catalog rows: psql's \d and pg_dump --schema-only read as much.
    for (let i = 0; i < 5; i++) {
      const r = await c.query("SELECT p.proname, pg_catalog.pg_get_function_arguments(p.oid) FROM pg_catalog.pg_proc p WHERE p.pronamespace = 'pg_catalog'::regnamespace");
      expect(r.rows.length).toBeGreaterThan(2000);
    }
    await c.query('SELECT table_name, column_name FROM information_schema.columns');
    // The budget is untouched: a table read of 19 KB still fits, and the next one does not.
    await c.query("SELECT repeat('x', 9000) FROM customers LIMIT 2");
    const e = await failure(c.query("SELECT repeat('x', 10000) FROM customers LIMIT 1"));
    expect(e.message).toMatch(/data budget/);
  });

  test('a catalog query that calls a function which may read tables counts', async () => {
    const c = await connect(agent('catalog-reader-2', 'task-budget'));
    const e = await failure(c.query("SELECT noisy(30000) FROM pg_catalog.pg_class LIMIT 1"));
    expect(e.message).toMatch(/data budget|denied/);
  });
});
