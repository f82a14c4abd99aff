// The whole path as a user runs it: login (device code as a browser would; client credentials), proxy,
// real clients (node-postgres, postgres.js), then audit search and playback by a person who may read them.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import pg from 'pg';
import postgres from 'postgres';
import { agentdb, loginAgent, loginAlice, startProxyCli, startTestCluster, type TestCluster } from '../helpers/cluster.js';

const TASK = 'check refunds for the spine test';

let tc: TestCluster;
let aliceHome: string;
let agentHome: string;

beforeAll(async () => {
  tc = await startTestCluster('spine');
  aliceHome = await tc.newHome();
  agentHome = await tc.newHome();
});
afterAll(async () => {
  await tc?.close();
});

describe('login', () => {
  test('a person logs in with the device code, signing in on the built-in provider as a browser would', async () => {
    const proc = await loginAlice(tc, aliceHome);
    expect(proc.output.join('\n')).toMatch(/Logged in as alice \(human\)/);
    const status = await agentdb(aliceHome, ['status', '--format', 'json']);
    expect(status.code).toBe(0);
    const s = JSON.parse(status.stdout);
    expect(s.identity).toMatchObject({ name: 'alice', kind: 'human', roles: ['support'], traits: { region: ['eu'] } });
  });

  test('a bot logs in with client credentials; a wrong secret is refused with exit code 3 or 1 and a clear message', async () => {
    await loginAgent(tc, agentHome);
    const status = JSON.parse((await agentdb(agentHome, ['status', '--format', 'json'])).stdout);
    expect(status.identity).toMatchObject({ name: 'demo-agent', kind: 'agent', roles: ['demo-agent'] });
    const badHome = await tc.newHome();
    const bad = await agentdb(badHome, ['login', '--server', tc.cluster.info.server, '--ca-file', tc.cluster.info.caFile, '--client-id', 'demo-agent', '--client-secret-env', 'S'], { S: 'wrong' });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/^agentdb: .+/);
    expect((await agentdb(badHome, ['status'])).code).toBe(3);
  });

  test('commands that need a login say so with exit code 3', async () => {
    const home = await tc.newHome();
    const r = await agentdb(home, ['proxy', '--db', 'customers']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/not logged in: run `agentdb login`/);
  });
});

describe('statements through the proxy are audited and recorded', () => {
  let nodePgSid = '';

  test('node-postgres and postgres.js run SELECT, INSERT, a failing statement and a prepared statement', async () => {
    const { proc, ready } = await startProxyCli(agentHome, ['--db', 'customers', '--task', TASK]);
    try {
      expect(ready).toMatchObject({ host: '127.0.0.1', db: 'customers', dbUser: 'app_rw', task: { reason: TASK } });

      const client = new pg.Client({ connectionString: ready.url });
      await client.connect();
      const count = await client.query('SELECT count(*)::int AS n FROM customers');
      expect(count.rows[0].n).toBe(2000);
      const ins = await client.query("INSERT INTO orders (customer_id, region, amount, status) VALUES (1, 'us-east', 12.50, 'paid') RETURNING id");
      expect(ins.rowCount).toBe(1);
      await expect(client.query('SELECT no_such_column FROM customers')).rejects.toMatchObject({ code: '42703' });
      const prepared = await client.query({ name: 'big-orders', text: 'SELECT id, amount FROM orders WHERE region = $1 AND amount > $2 ORDER BY id LIMIT 5', values: ['us-east', 100] });
      expect(prepared.rows.length).toBe(5);
      const app = await client.query("SELECT current_setting('application_name') AS app");
      nodePgSid = /^agentdb (\S+) demo-agent$/.exec(app.rows[0].app)![1]!;
      await client.end();

      const sql = postgres(ready.url, { fetch_types: false, max: 1, onnotice: () => undefined });
      const byId = await sql`SELECT name FROM customers WHERE id = ${7}`;
      expect(byId.length).toBe(1);
      await expect(sql.unsafe('SELECT 1/0')).rejects.toMatchObject({ code: '22012' });
      await sql.end();
    } finally {
      expect(await proc.stop()).toBe(0);
    }
  });

  test('audit search returns exactly those statements, with identity, task and session', async () => {
    const r = await agentdb(aliceHome, ['audit', 'search', '--task', TASK, '--type', 'db.session.query', '--format', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(events.map((e) => e.statement.sql)).toEqual([
      'SELECT count(*)::int AS n FROM customers',
      "INSERT INTO orders (customer_id, region, amount, status) VALUES (1, 'us-east', 12.50, 'paid') RETURNING id",
      'SELECT no_such_column FROM customers',
      'SELECT id, amount FROM orders WHERE region = $1 AND amount > $2 ORDER BY id LIMIT 5',
      "SELECT current_setting('application_name') AS app",
      'SELECT name FROM customers WHERE id = $1',
      'SELECT 1/0',
    ]);
    for (const e of events) {
      expect(e.identity).toEqual({ name: 'demo-agent', kind: 'agent', roles: ['demo-agent'] });
      expect(e.task).toMatchObject({ reason: TASK, requester: 'demo-agent' });
      expect(e.db).toEqual({ service: 'customers', name: tc.database, user: 'app_rw' });
      expect(e.sid).toMatch(/^[0-9a-f-]{36}$/);
      expect(e.statement.decision).toBe('allow');
    }
    expect(events[3].statement.params).toEqual(['us-east', '100']);
    expect(events[5].statement.params).toEqual(['7']);
    expect(events[1].statement).toMatchObject({ kind: 'insert', tables: ['public.orders'] });
    expect(new Set(events.slice(0, 5).map((e) => e.sid))).toEqual(new Set([nodePgSid]));
    expect(events[5].sid).not.toBe(nodePgSid);

    const table = await agentdb(aliceHome, ['audit', 'search', '--sid', nodePgSid]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/db\.session\.start\s+demo-agent/);
    expect(table.stdout).toMatch(/db\.session\.end/);
  });

  test('play shows the session in order, with row counts and the SQLSTATE of the error', async () => {
    let text = '';
    for (let i = 0; i < 50 && !text.includes('Session ended'); i++) {
      text = (await agentdb(aliceHome, ['play', nodePgSid])).stdout;
      if (!text.includes('Session ended')) await new Promise((r) => setTimeout(r, 100));
    }
    const lines = text.trim().split('\n');
    expect(lines[0]).toMatch(new RegExp(`^Session started to database "${tc.database}" as app_rw by demo-agent \\(task: ${TASK}\\) at \\w{3} \\w{3} \\d+ \\d\\d:\\d\\d UTC$`));
    expect(lines.slice(1, -1).map((l) => l.replace(/ \d+\.\d ms$/, ''))).toEqual([
      `${tc.database}=> SELECT count(*)::int AS n FROM customers;`,
      'SUCCESS (1 row affected)',
      `${tc.database}=> INSERT INTO orders (customer_id, region, amount, status) VALUES (1, 'us-east', 12.50, 'paid') RETURNING id;`,
      'SUCCESS (1 row affected)',
      `${tc.database}=> SELECT no_such_column FROM customers;`,
      'ERROR: column "no_such_column" does not exist (SQLSTATE 42703)',
      `${tc.database}=> SELECT id, amount FROM orders WHERE region = $1 AND amount > $2 ORDER BY id LIMIT 5;  -- params: ['us-east', '100']`,
      'SUCCESS (5 rows affected)',
      `${tc.database}=> SELECT current_setting('application_name') AS app;`,
      'SUCCESS (1 row affected)',
    ]);
    expect(lines.at(-1)).toMatch(/^Session ended at /);

    const json = JSON.parse((await agentdb(aliceHome, ['play', nodePgSid, '--format', 'json'])).stdout);
    expect(json.header.identity.name).toBe('demo-agent');
    expect(json.statements[0]).toMatchObject({ rows: 1, tag: 'SELECT 1', columns: ['n'] });
    expect(json.statements[2].error).toEqual({ code: '42703', message: 'column "no_such_column" does not exist' });
  });

  test('an agent may not read the audit log (exit code 4), and an unknown session is a clear error', async () => {
    const r = await agentdb(agentHome, ['audit', 'search']);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/demo-agent holds no role that may read the audit log/);
    const missing = await agentdb(aliceHome, ['play', '00000000-0000-4000-8000-000000000000']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no recorded session/);
  });

  test('audit verify checks the hash chain', async () => {
    const r = await agentdb(aliceHome, ['audit', 'verify']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Audit log intact: \d+ events/);
  });
});

describe('logout', () => {
  test('revokes the session on the server: the old token stops working', async () => {
    const home = await tc.newHome();
    await loginAgent(tc, home);
    const { proc, ready } = await startProxyCli(home, ['--db', 'customers', '--task', 'logout test']);
    expect((await agentdb(home, ['logout'])).code).toBe(0);
    expect((await agentdb(home, ['status'])).code).toBe(3);
    // A certificate issued under the revoked login no longer opens sessions.
    const client = new pg.Client({ connectionString: ready.url });
    await expect(client.connect()).rejects.toMatchObject({ code: '28000', message: expect.stringMatching(/revoked|ended/) });
    await proc.stop();
  });
});
