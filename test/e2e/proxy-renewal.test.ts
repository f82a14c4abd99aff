// agentdb proxy keeps working past its first certificate's life: it fetches a fresh one before expiry for
// new connections (each certificate is a new task-scoped credential; the open session ends with its own).
import { afterAll, beforeAll, expect, test } from 'vitest';
import pg from 'pg';
import { loginAgent, startProxyCli, startTestCluster, type TestCluster } from '../helpers/cluster.js';

let tc: TestCluster;
beforeAll(async () => {
  tc = await startTestCluster('renewal');
});
afterAll(async () => {
  await tc?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function currentUser(url: string): Promise<string> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query('SELECT current_user AS u')).rows[0].u as string;
  } finally {
    await c.end();
  }
}

test('new connections after the first certificate expired still get through, on a renewed certificate', async () => {
  const home = await tc.newHome();
  await loginAgent(tc, home);
  const { proc, ready } = await startProxyCli(home, ['--db', 'customers', '--task', 'renewal', '--ttl', '6s']);
  try {
    const firstExpiry = new Date(ready.expiresAt).getTime();
    expect(firstExpiry - Date.now()).toBeLessThanOrEqual(7_000);
    expect(await currentUser(ready.url)).toBe('app_rw');
    // Past two thirds of its life: this connection starts the renewal and still uses the valid certificate.
    await sleep(Math.max(0, firstExpiry - 2_000 - Date.now()));
    expect(await currentUser(ready.url)).toBe('app_rw');
    // Past the first certificate's end: only a renewed certificate can open this one.
    await sleep(Math.max(0, firstExpiry + 1_500 - Date.now()));
    expect(await currentUser(ready.url)).toBe('app_rw');
  } finally {
    await proc.stop();
  }
  const issued = await tc.cluster.server.audit.search({ type: 'cert.issued', task: 'renewal' });
  expect(issued.length).toBeGreaterThanOrEqual(2);
});
