// Held statements, just-in-time roles, locks and row-level security from the identity's claims, as users run them:
// an agent's session through `agentdb proxy`, reviewers deciding from their own CLI sessions.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import pg from 'pg';
import postgres from 'postgres';
import { agentdb, eventually, loginAgent, loginAlice, startProxyCli, startTestCluster, type CliProcess, type ProxyReady, type TestCluster } from '../helpers/cluster.js';
import { startWebhookCatcher, type WebhookCatcher } from '../helpers/webhook-catcher.js';

let tc: TestCluster;
let agentHome: string;
let aliceHome: string;
let reviewerHome: string;
let proxy: { proc: CliProcess; ready: ProxyReady };
// The review webhook's receiver: every POST body it got.
let hooks: WebhookCatcher<{ request?: { id?: string } }>;

interface PendingRequest {
  id: string;
  state: string;
  requester: string;
  statement?: { sql: string; params?: (string | null)[]; rule: string };
  decidedBy?: string;
}

beforeAll(async () => {
  hooks = await startWebhookCatcher();
  const hookUrl = hooks.url('/agentdb');
  tc = await startTestCluster('review', (config) => {
    config.review = { webhook: { url: hookUrl } };
    // Short enough for a test to see a held statement time out.
    const agent = config.roles['demo-agent']!;
    agent.review = { databases: agent.review?.databases ?? [], timeout: '4s' };
  });
  agentHome = await tc.newHome();
  aliceHome = await tc.newHome();
  reviewerHome = await tc.newHome();
  await loginAgent(tc, agentHome);
  await loginAgent(tc, reviewerHome, 'demo-reviewer');
  await loginAlice(tc, aliceHome);
  const admin = new pg.Client({ connectionString: tc.cluster.info.databases[0]!.adminUrl });
  await admin.connect();
  // Row-level security keyed on the identity's region claim, which the gateway sets as app.region.
  await admin.query(`
    ALTER TABLE orders ENABLE ROW LEVEL SECURITY;
    CREATE POLICY orders_by_region ON orders USING (region = current_setting('app.region', true));`);
  await admin.end();
  proxy = await startProxyCli(agentHome, ['--db', 'customers', '--task', 'tidy up orders']);
});

afterAll(async () => {
  await proxy?.proc.stop();
  await tc?.close();
  await hooks?.close();
});

async function pendingFor(home: string, sqlPart: string): Promise<PendingRequest | undefined> {
  const r = await agentdb(home, ['request', 'ls', '--state', 'pending', '--format', 'json']);
  if (r.code !== 0) throw new Error(r.stderr);
  return r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as PendingRequest).find((x) => x.statement?.sql.includes(sqlPart));
}

describe('row-level security from the identity', () => {
  test('app.region comes from the agent\'s claim and restricts orders to its region', async () => {
    const c = new pg.Client({ connectionString: proxy.ready.url });
    await c.connect();
    const { rows } = await c.query('SELECT DISTINCT region FROM orders');
    expect(rows).toEqual([{ region: 'us-east' }]);
    expect((await c.query("SELECT current_setting('app.region') AS r")).rows[0].r).toBe('us-east');
    await c.end();
  });

  test('the agent cannot change the forced setting, however it tries', async () => {
    const c = new pg.Client({ connectionString: proxy.ready.url });
    await c.connect();
    const warnings: string[] = [];
    c.on('notice', (n) => warnings.push(n.message ?? ''));
    // A plain SET or RESET is answered as done with a WARNING (pg_dump and drivers send such), the value stays.
    for (const sql of ["SET app.region = 'eu'", 'RESET app.region', "SET LOCAL app.region TO 'eu'"]) expect((await c.query(sql)).command, sql).toBe(sql.startsWith('RESET') ? 'RESET' : 'SET');
    // (PostgreSQL adds its own warning that SET LOCAL outside a transaction block does nothing.)
    expect(warnings.filter((w) => /app\.region is set by policy for this session; this SET was ignored/.test(w))).toHaveLength(3);
    // set_config() inside a SELECT cannot be answered as done: refused.
    await expect(c.query("SELECT set_config('app.region', 'eu', false)")).rejects.toMatchObject({ code: '42501' });
    // The session keeps working, and the setting is unchanged.
    expect((await c.query("SELECT current_setting('app.region') AS r")).rows[0].r).toBe('us-east');
    await c.end();
  });
});

describe('held statements', () => {
  test('a DELETE without WHERE waits; a reviewer approves it from another CLI session and it runs', async () => {
    const c = new pg.Client({ connectionString: proxy.ready.url });
    await c.connect();
    const before = Number((await c.query('SELECT count(*) FROM orders')).rows[0].count);
    expect(before).toBeGreaterThan(0);
    const notices: { message?: string; hint?: string }[] = [];
    c.on('notice', (n) => notices.push(n));
    const del = c.query('DELETE FROM orders');
    const req = await eventually(() => pendingFor(aliceHome, 'DELETE FROM orders'), 'the held DELETE to show up');
    expect(req).toMatchObject({ requester: 'demo-agent', state: 'pending' });
    // The waiting client was told at once which request holds it and how it is approved.
    const told = await eventually(async () => notices.find((n) => n.message?.includes(req.id)), 'the held-for-review notice');
    expect(told.message).toBe(`agentdb: held for review: request ${req.id}`);
    expect(told.hint).toContain(`agentdb request approve ${req.id}`);
    // The webhook announced it, with the statement, the rule and who is asking.
    const hook = await eventually(async () => hooks.announced.find((a) => a.request?.id === req.id), 'the webhook');
    expect(hook).toMatchObject({ type: 'request.created', request: { requester: 'demo-agent', statement: { sql: 'DELETE FROM orders' } } });
    // The requester cannot approve its own request.
    const self = await agentdb(agentHome, ['request', 'approve', req.id]);
    expect(self.code).toBe(4);
    expect(self.stderr).toMatch(/your own request/);
    const ok = await agentdb(aliceHome, ['request', 'approve', req.id]);
    expect(ok.code, ok.stderr).toBe(0);
    expect((await del).rowCount).toBe(before);
    expect(Number((await c.query('SELECT count(*) FROM orders')).rows[0].count)).toBe(0);
    await c.end();
  });

  test('a second one is denied with the reviewer named, and the session keeps working', async () => {
    const c = new pg.Client({ connectionString: proxy.ready.url });
    await c.connect();
    await c.query("INSERT INTO orders (customer_id, region, amount, status) VALUES (1, 'us-east', 5, 'paid')");
    const del = c.query('DELETE FROM orders').then(() => undefined, (e: Error & { code?: string }) => e);
    const req = await eventually(() => pendingFor(reviewerHome, 'DELETE FROM orders'), 'the second held DELETE');
    const r = await agentdb(reviewerHome, ['request', 'deny', req.id, '--reason', 'not during business hours']);
    expect(r.code, r.stderr).toBe(0);
    const err = await del;
    expect(err).toMatchObject({ code: '42501' });
    expect(err!.message).toMatch(/denied by demo-reviewer: not during business hours/);
    expect((await c.query('SELECT count(*)::int AS n FROM orders')).rows[0].n).toBe(1);
    await c.end();
  });

  test('one nobody decides times out and says so', async () => {
    const c = new pg.Client({ connectionString: proxy.ready.url });
    await c.connect();
    await expect(c.query('UPDATE orders SET status = $1', ['void'])).rejects.toMatchObject({ code: '42501', message: expect.stringMatching(/timed out/) });
    expect((await c.query("SELECT count(*)::int AS n FROM orders WHERE status = 'void'")).rows[0].n).toBe(0);
    await c.end();
    const audit = await agentdb(aliceHome, ['audit', 'search', '--type', 'request.*', '--format', 'json']);
    const types = audit.stdout.trim().split('\n').map((l) => JSON.parse(l).type);
    expect(types).toEqual(expect.arrayContaining(['request.created', 'request.approved', 'request.denied', 'request.expired']));
  });
});

describe('cancel', () => {
  test('a held statement the client cancels is withdrawn, and never runs', async () => {
    const sql = postgres(proxy.ready.url, { max: 1, fetch_types: false, onnotice: () => undefined });
    const q = sql`DELETE FROM orders`;
    const settled = q.then(() => undefined, (e: Error & { code?: string }) => e);
    await eventually(() => pendingFor(aliceHome, 'DELETE FROM orders'), 'the held DELETE');
    q.cancel();
    const err = await settled;
    expect(err).toMatchObject({ code: '42501' });
    expect(err!.message).toMatch(/canceled by the client while waiting for review/);
    expect((await sql`SELECT count(*)::int AS n FROM orders`)[0]!.n).toBeGreaterThan(0);
    await sql.end();
  });
});

describe('just-in-time roles', () => {
  test('an approved role request lets the next certificate carry the role', async () => {
    const denied = await agentdb(agentHome, ['proxy', '--db', 'customers', '--db-user', 'app_ro']);
    expect(denied.code).toBe(4);
    const create = await agentdb(agentHome, ['request', 'create', '--role', 'analyst', '--reason', 'read-only look at customers', '--no-wait', '--format', 'json']);
    expect(create.code, create.stderr).toBe(0);
    const id = JSON.parse(create.stdout).id as string;
    expect((await agentdb(aliceHome, ['request', 'approve', id])).code).toBe(0);
    const { proc, ready } = await startProxyCli(agentHome, ['--db', 'customers', '--db-user', 'app_ro', '--task', 'jit']);
    const c = new pg.Client({ connectionString: ready.url });
    await c.connect();
    expect((await c.query('SELECT current_user AS u, count(*)::int AS n FROM customers')).rows[0]).toEqual({ u: 'app_ro', n: 2000 });
    // The granted role's rules apply: it reads, it does not write.
    await expect(c.query("UPDATE orders SET status = 'x' WHERE id = 1")).rejects.toMatchObject({ code: '42501' });
    await c.end();
    await proc.stop();
  });
});

describe('locks', () => {
  test('locking an identity ends its open session and refuses new certificates until unlocked', async () => {
    const home = await tc.newHome();
    await loginAgent(tc, home);
    const { proc, ready } = await startProxyCli(home, ['--db', 'customers', '--task', 'lock test']);
    const c = new pg.Client({ connectionString: ready.url });
    const ended = new Promise<Error>((resolve) => c.on('error', resolve));
    await c.connect();
    const lock = await agentdb(aliceHome, ['lock', '--user', 'demo-agent', '--reason', 'incident 7', '--format', 'json']);
    expect(lock.code, lock.stderr).toBe(0);
    expect((await ended).message).toMatch(/locked by alice: incident 7/);
    const refused = await agentdb(home, ['proxy', '--db', 'customers']);
    expect(refused.code).toBe(4);
    expect(refused.stderr).toMatch(/locked/);
    expect((await agentdb(aliceHome, ['unlock', JSON.parse(lock.stdout).id])).code).toBe(0);
    const again = await startProxyCli(home, ['--db', 'customers']);
    await again.proc.stop();
    await proc.stop();
  });
});
