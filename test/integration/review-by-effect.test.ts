// Review by effect: the demo agent's UPDATE is held by the rows it would change, not by how its WHERE reads.
// Writes whose WHERE is always true in forms the syntax check misses are counted by the effect probe (rolled
// back, row-level security as the session sees it) and wait for a person; targeted ones run at once; a probe
// that cannot count holds. The agent talks to the gateway with a task certificate; the reviewer uses the CLI.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import pg from 'pg';
import { agentdb, eventually, loginAgent, startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { clusterUserCa, gatewayPgClient, issueTaskCert, type ClientCert } from '../helpers/task-certs.js';

const REGION = 'us-east';

let tc: TestCluster;
let admin: pg.Client;
let agentCert: ClientCert;
let reviewerHome: string;
let threshold: number;

interface PendingRequest {
  id: string;
  statement?: { sql: string; params?: (string | null)[]; rule: string; message?: string };
}

beforeAll(async () => {
  tc = await startTestCluster('effect', (config) => {
    const agent = config.roles['demo-agent']!;
    threshold = agent.review?.rowsOver as number;
    // Long enough for the reviewer's CLI; the demo's own threshold is kept.
    agent.review = { ...agent.review, databases: agent.review?.databases ?? [], timeout: '60s' };
    // The demo agent may not DELETE or MERGE (nor write in a WITH); here it may, to see them held by their effect too.
    agent.rules.push({ name: 'effect-test-delete-merge', action: 'allow', match: { kinds: ['delete', 'merge', 'update', 'select'], writes: ['public.orders'], reads: ['public.orders'] } });
    // Writes to customers (whose email the demo agent sees masked): a held one must not show what it writes.
    agent.rules.push({ name: 'effect-test-customers', action: 'allow', match: { kinds: ['update'], writes: ['public.customers'] } });
  });
  admin = new pg.Client({ connectionString: tc.cluster.info.databases[0]!.adminUrl });
  await admin.connect();
  // Row-level security on the region the gateway forces from the identity's claim (app.region).
  await admin.query(`
    ALTER TABLE orders ENABLE ROW LEVEL SECURITY;
    CREATE POLICY effect_orders_by_region ON orders USING (region = current_setting('app.region', true));`);
  reviewerHome = await tc.newHome();
  await loginAgent(tc, reviewerHome, 'demo-reviewer');
  agentCert = await issueTaskCert(tc, await clusterUserCa(tc), { identity: 'effect-agent', kind: 'agent', roles: ['demo-agent'], traits: { region: [REGION] } });
}, 120_000);

afterAll(async () => {
  await admin?.end();
  await tc?.close();
});

async function agentClient(): Promise<pg.Client> {
  const c = gatewayPgClient(tc, agentCert);
  await c.connect();
  return c;
}

/** Rows of the agent's region and the sum of their amounts, as the database owner sees them (no RLS). */
async function regionTotals(): Promise<{ n: number; sum: string }> {
  const { rows } = await admin.query<{ n: number; sum: string }>('SELECT count(*)::int AS n, sum(amount)::text AS sum FROM orders WHERE region = $1', [REGION]);
  return rows[0]!;
}

async function pending(sqlPart: string): Promise<PendingRequest | undefined> {
  const r = await agentdb(reviewerHome, ['request', 'ls', '--state', 'pending', '--format', 'json']);
  if (r.code !== 0) throw new Error(r.stderr);
  return r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as PendingRequest).find((x) => x.statement?.sql.includes(sqlPart));
}

async function decide(verb: 'approve' | 'deny', id: string): Promise<void> {
  const r = await agentdb(reviewerHome, ['request', verb, id]);
  expect(r.code, r.stderr).toBe(0);
}

/** An order id of the agent's region, and one of another region. */
async function orderIds(): Promise<{ mine: number; other: number }> {
  const mine = (await admin.query<{ id: number }>('SELECT min(id) AS id FROM orders WHERE region = $1', [REGION])).rows[0]!.id;
  const other = (await admin.query<{ id: number }>('SELECT min(id) AS id FROM orders WHERE region <> $1', [REGION])).rows[0]!.id;
  return { mine, other };
}

describe('writes that change every row, whatever the WHERE looks like', () => {
  const tautologies: { where: string; extended?: boolean }[] = [
    { where: 'id = id' },
    { where: 'true OR id = 1' },
    { where: 'id IS NOT NULL', extended: true },
    { where: 'id IN (SELECT id FROM orders)' },
  ];

  test('the demo agent has a threshold, and its region holds more rows than that', async () => {
    expect(threshold).toBe(100);
    const { n } = await regionTotals();
    expect(n).toBeGreaterThan(threshold);
    // Row-level security hides the other regions from the agent, so its statements can change no more than these.
    expect((await admin.query<{ n: number }>('SELECT count(*)::int AS n FROM orders')).rows[0]!.n).toBeGreaterThan(n);
  });

  for (const [i, t] of tautologies.entries()) {
    test(`WHERE ${t.where}${t.extended ? ' (extended protocol, with a parameter)' : ''}: held with its count, unchanged by the probe, run once when approved`, async () => {
      const before = await regionTotals();
      const c = await agentClient();
      // A marker comment tells the held statements apart in the request list.
      const marker = `effect-${i}`;
      const text = t.extended
        ? `UPDATE orders SET amount = amount + $1 WHERE ${t.where} /* ${marker} */`
        : `UPDATE orders SET amount = amount + 1 WHERE ${t.where} /* ${marker} */`;
      const run = t.extended ? c.query({ text, values: [1] }) : c.query(text);
      // A failed assertion leaves the statement waiting; the session's end must not become an unhandled rejection.
      run.catch(() => undefined);
      const req = await eventually(() => pending(marker), `the held UPDATE WHERE ${t.where}`);
      expect(req.statement).toMatchObject({ rule: 'review:rows-over' });
      // The probe counted the rows row-level security lets this session change: those of its region only.
      expect(req.statement?.message).toMatch(new RegExp(`would change ${before.n} rows`));
      if (t.extended) expect(req.statement?.params).toEqual(['1']);
      // The probe ran and rolled back: nothing changed while the statement waits.
      expect(await regionTotals()).toEqual(before);
      await decide('approve', req.id);
      expect((await run).rowCount).toBe(before.n);
      // Once: every row of the region gained exactly 1.
      const after = await regionTotals();
      expect(after.n).toBe(before.n);
      expect(Number(after.sum)).toBeCloseTo(Number(before.sum) + before.n, 2);
      await c.end();
    }, 90_000);
  }
});

describe('writes within the threshold', () => {
  test('a targeted UPDATE runs without a person, and the audit log says the probe approved it', async () => {
    const { mine } = await orderIds();
    const c = await agentClient();
    // RETURNING rows are the client's; the probe only counts them.
    const r = await c.query(`UPDATE orders SET status = 'probed' WHERE id = ${mine} RETURNING id`);
    expect(r.rows).toEqual([{ id: mine }]);
    // The same on the extended protocol, with parameters the probe repeats.
    const p = await c.query({ text: 'UPDATE orders SET status = $1 WHERE id = $2', values: ['probed-2', mine] });
    expect(p.rowCount).toBe(1);
    expect((await admin.query('SELECT status FROM orders WHERE id = $1', [mine])).rows[0].status).toBe('probed-2');
    await c.end();
    await tc.cluster.server.audit.flush();
    const events = await tc.cluster.server.audit.search({ type: 'db.session.query', user: 'effect-agent' });
    const approved = events.filter((e) => e.statement?.rule === 'review:rows-over').map((e) => e.message);
    expect(approved).toEqual(expect.arrayContaining(['approved by agentdb effect probe (would change 1 rows)']));
    expect(await pending('probed')).toBeUndefined();
  });

  test('the probe sees what row-level security lets the session see: a row of another region counts 0 and changes nothing', async () => {
    const { other } = await orderIds();
    const before = (await admin.query('SELECT status FROM orders WHERE id = $1', [other])).rows[0].status as string;
    const c = await agentClient();
    expect((await c.query(`UPDATE orders SET status = 'not mine' WHERE id = ${other}`)).rowCount).toBe(0);
    expect((await admin.query('SELECT status FROM orders WHERE id = $1', [other])).rows[0].status).toBe(before);
    await c.end();
  });
});

describe('a probe that cannot count holds the statement for a person', () => {
  test('a row locked by another transaction: held with the reason, and run when approved after the lock is gone', async () => {
    const { mine } = await orderIds();
    const locker = new pg.Client({ connectionString: tc.cluster.info.databases[0]!.adminUrl });
    await locker.connect();
    await locker.query('BEGIN');
    await locker.query('SELECT id FROM orders WHERE id = $1 FOR UPDATE', [mine]);
    const c = await agentClient();
    const run = c.query(`UPDATE orders SET status = 'after-lock' WHERE id = ${mine} /* locked */`);
    run.catch(() => undefined);
    const req = await eventually(() => pending('/* locked */'), 'the UPDATE of a locked row');
    expect(req.statement?.message).toMatch(/rows it would change could not be counted: .*lock timeout/);
    await locker.query('ROLLBACK');
    await locker.end();
    await decide('approve', req.id);
    expect((await run).rowCount).toBe(1);
    expect((await admin.query('SELECT status FROM orders WHERE id = $1', [mine])).rows[0].status).toBe('after-lock');
    await c.end();
  }, 60_000);

  test('a statement that calls a volatile function is not probed but held, and a denial refuses it', async () => {
    const { mine } = await orderIds();
    const c = await agentClient();
    const run = c.query(`UPDATE orders SET status = md5(random()::text) WHERE id = ${mine} /* volatile */`).then(() => undefined, (e: Error & { code?: string }) => e);
    const req = await eventually(() => pending('/* volatile */'), 'the UPDATE calling random()');
    expect(req.statement?.message).toMatch(/could not be counted: it calls random, which is volatile/);
    await decide('deny', req.id);
    expect(await run).toMatchObject({ code: '42501' });
    expect((await admin.query('SELECT status FROM orders WHERE id = $1', [mine])).rows[0].status).toBe('after-lock');
    await c.end();
  }, 60_000);

  test.each([
    { sql: (id: number) => `UPDATE orders SET status = DEFAULT WHERE id = ${id} /* default */`, tag: '/* default */', why: /it sets a column to its default/ },
    { sql: (id: number) => `WITH u AS (UPDATE orders SET status = 'cte' WHERE id = ${id} RETURNING id) SELECT count(*) FROM u /* cte */`, tag: '/* cte */', why: /it changes rows in a WITH clause as well/ },
    { sql: (id: number) => `UPDATE orders SET status = 'trig' WHERE id = ${id} /* trigger */`, tag: '/* trigger */', why: /trigger effect_touch runs on orders/, trigger: true },
  ])('not run to be counted, but held: $tag', async ({ sql, tag, why, trigger }) => {
    const { mine } = await orderIds();
    if (trigger) {
      await admin.query(`
        CREATE FUNCTION effect_touch() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';
        CREATE TRIGGER effect_touch BEFORE UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION effect_touch();`);
    }
    try {
      const c = await agentClient();
      const run = c.query(sql(mine)).then(() => undefined, (e: Error & { code?: string }) => e);
      const req = await eventually(() => pending(tag), `the held ${tag}`);
      expect(req.statement?.message).toMatch(/rows it would change could not be counted: /);
      expect(req.statement?.message).toMatch(why);
      await decide('deny', req.id);
      expect(await run).toMatchObject({ code: '42501' });
      await c.end();
    } finally {
      if (trigger) await admin.query('DROP TRIGGER effect_touch ON orders; DROP FUNCTION effect_touch()');
    }
  }, 60_000);

  test('the syntax check still comes first: an UPDATE without WHERE goes to a person without a probe', async () => {
    const c = await agentClient();
    const run = c.query(`UPDATE orders SET status = 'all' /* whereless */`).then(() => undefined, (e: Error & { code?: string }) => e);
    const req = await eventually(() => pending('/* whereless */'), 'the UPDATE without WHERE');
    expect(req.statement?.rule).toBe('agent-safe:whereless-review');
    expect(req.statement?.message).not.toMatch(/would change|could not be counted/);
    await decide('deny', req.id);
    expect(await run).toMatchObject({ code: '42501' });
    await c.end();
  }, 60_000);
});

describe('DELETE, MERGE and strings of several statements', () => {
  test('a targeted DELETE runs without a person; a MERGE over every row is held with its count', async () => {
    const last = (await admin.query<{ id: number }>('SELECT max(id) AS id FROM orders WHERE region = $1', [REGION])).rows[0]!.id;
    const c = await agentClient();
    expect((await c.query(`DELETE FROM orders WHERE id = ${last}`)).rowCount).toBe(1);
    const before = await regionTotals();
    const run = c.query('MERGE INTO orders o USING (SELECT id FROM orders) s ON o.id = s.id WHEN MATCHED THEN UPDATE SET amount = o.amount + 1 /* merge */');
    run.catch(() => undefined);
    const req = await eventually(() => pending('/* merge */'), 'the held MERGE');
    expect(req.statement?.message).toMatch(new RegExp(`would change ${before.n} rows`));
    expect(await regionTotals()).toEqual(before);
    await decide('approve', req.id);
    expect((await run).rowCount).toBe(before.n);
    expect(Number((await regionTotals()).sum)).toBeCloseTo(Number(before.sum) + before.n, 2);
    await c.end();
  }, 60_000);

  test('a string of several statements is not probed but held, saying why', async () => {
    const { mine } = await orderIds();
    const c = await agentClient();
    const run = c.query(`UPDATE orders SET status = 'a' WHERE id = ${mine}; UPDATE orders SET status = 'b' WHERE id = ${mine} /* two */`).then(() => undefined, (e: Error & { code?: string }) => e);
    const req = await eventually(() => pending('/* two */'), 'the held pair of UPDATEs');
    expect(req.statement?.message).toMatch(/could not be counted: only a statement sent on its own is probed, and this text holds 2 statements/);
    await decide('deny', req.id);
    expect(await run).toMatchObject({ code: '42501' });
    await c.end();
  }, 60_000);
});

describe('a held write to a masked column', () => {
  // What a statement writes into a column the agent sees masked is as protected as what it reads: the request,
  // its audit events, the webhook and the reviewers see it redacted, as the audit log keeps the statement.
  test('shows reviewers and the audit log the statement with the masked values redacted, simple and extended', async () => {
    const secret = 'planted-secret@leak.example';
    const c = await agentClient();
    const simple = c.query(`UPDATE customers SET email = '${secret}' /* held-masked-simple */`).then(() => undefined, (e: Error & { code?: string }) => e);
    const req = await eventually(() => pending('/* held-masked-simple */'), 'the held UPDATE (simple)');
    expect(JSON.stringify(req)).not.toContain('planted-secret');
    await decide('deny', req.id);
    expect(await simple).toMatchObject({ code: '42501' });

    const extended = c.query({ text: 'UPDATE customers SET email = $1 /* held-masked-extended */', values: [secret] }).then(() => undefined, (e: Error & { code?: string }) => e);
    const req2 = await eventually(() => pending('/* held-masked-extended */'), 'the held UPDATE (extended)');
    expect(req2.statement?.params?.length).toBe(1);
    expect(JSON.stringify(req2)).not.toContain('planted-secret');
    await decide('deny', req2.id);
    expect(await extended).toMatchObject({ code: '42501' });
    await c.end();

    // Nothing the audit log stored for either carries the value (review, request.created, the denial).
    await tc.cluster.server.audit.flush();
    const events: string[] = [];
    for await (const r of tc.cluster.server.store.scanAudit()) if (r.json.includes('held-masked-')) events.push(r.json);
    expect(events.length).toBeGreaterThanOrEqual(6);
    for (const e of events) expect(e).not.toContain('planted-secret');
  }, 60_000);
});
