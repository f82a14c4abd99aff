// The demo agent through `agentdb proxy`, with the demo's provisioned database user: PostgreSQL sees the identity
// (current_user, pg_stat_activity) and refuses, by its own column grants and row-level security, what the agent
// was not granted, even with the gateway's masking off. `agentdb lock --task TEXT` matches the task's text and ends the session.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { inject } from 'vitest';
import pg from 'pg';
import { agentdb, loginAgent, loginAlice, startProxyCli, startTestCluster, type TestCluster } from '../helpers/cluster.js';

let tc: TestCluster;
let su: pg.Client;
let aliceHome: string;

beforeAll(async () => {
  // Masking off: what is refused below is refused by PostgreSQL, not hidden by the gateway.
  tc = await startTestCluster('e2e-provisioning', (c) => void delete c.roles['demo-agent']!.masking, { provisionAgent: true });
  su = new pg.Client({ connectionString: inject('pgAdminUrl') });
  await su.connect();
  aliceHome = await tc.newHome();
  await loginAlice(tc, aliceHome);
});
afterAll(async () => {
  await su?.end();
  await tc?.close();
});

describe('agentdb proxy as the demo agent, provisioned', () => {
  test('current_user and pg_stat_activity name the identity; an ungranted column is 42501 from PostgreSQL; lock --task TEXT ends it', async () => {
    const home = await tc.newHome();
    await loginAgent(tc, home);
    const { proc, ready } = await startProxyCli(home, ['--db', 'customers', '--task', 'check refunds']);
    expect(ready.dbUser).toBe('auto');
    const c = new pg.Client({ connectionString: ready.url });
    const ended = new Promise<Error>((resolve) => c.on('error', resolve));
    await c.connect();
    const me = (await c.query('SELECT current_user AS u, pg_backend_pid() AS pid')).rows[0];
    expect(me.u).toMatch(/^agentdb:demo-agent:[0-9a-f]{10}$/);
    // This session's own tag (other test files run the demo agent, unprovisioned, on the same PostgreSQL).
    const tag = (await su.query('SELECT application_name FROM pg_stat_activity WHERE pid = $1', [me.pid])).rows[0].application_name as string;
    expect(tag).toMatch(/agentdb .* demo-agent/);
    const act = await su.query('SELECT usename FROM pg_stat_activity WHERE application_name = $1', [tag]);
    expect(act.rows.length).toBeGreaterThan(0);
    for (const r of act.rows) expect(r.usename).toBe(me.u);

    const refused = await c.query('SELECT ssn FROM customers LIMIT 1').then(() => undefined, (e: Error & { code?: string }) => e);
    expect(refused).toMatchObject({ code: '42501', message: expect.stringMatching(/permission denied for table customers/) });
    // Granted columns come back as stored: masking is really off, so the refusal above was PostgreSQL's.
    const row = (await c.query('SELECT name, email FROM customers ORDER BY id LIMIT 1')).rows[0];
    expect(row.email).toMatch(/^[a-z]+\.[a-z-]+1@example\.com$/);

    // Row-level security on orders binds the provisioned user to the region the gateway forces (us-east for the agent).
    expect((await c.query('SELECT DISTINCT region FROM orders')).rows).toEqual([{ region: 'us-east' }]);
    await expect(c.query("INSERT INTO orders (customer_id, region, amount, status) VALUES (1, 'eu', 1, 'pending')"))
      .rejects.toMatchObject({ code: '42501', message: expect.stringMatching(/row-level security/) });

    const none = await agentdb(aliceHome, ['lock', '--task', 'a task nobody ran', '--reason', 'typo check']);
    expect(none.code).not.toBe(0);
    expect(none.stderr).toMatch(/--future/);
    const lock = await agentdb(aliceHome, ['lock', '--task', 'check refunds', '--reason', 'incident 12']);
    expect(lock.code, lock.stderr).toBe(0);
    expect(lock.stdout).toMatch(/Locked tasks whose id is, or whose text contains, "check refunds"/);
    expect((await ended).message).toMatch(/locked by alice: incident 12/);
    await proc.stop();
  });
});
