// A CancelRequest through `agentdb proxy` reaches the statement however the client sends it. The soak found
// that one sent and followed at once by the client's close (which PostgreSQL accepts) was dropped: the proxy
// saw its local socket closed by the time its tunnel to the gateway was open, and gave up.
import net from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { cancelRequest } from '../../src/pgwire/index.js';
import { loginAlice, startProxyCli, startTestCluster, type CliProcess, type ProxyReady, type TestCluster } from '../helpers/cluster.js';

let tc: TestCluster;
let proxy: { proc: CliProcess; ready: ProxyReady };

beforeAll(async () => {
  tc = await startTestCluster('proxy-cancel');
  const home = await tc.newHome();
  await loginAlice(tc, home);
  // A person: pg_sleep is refused to agents (agent-safe:no-sleep), not to people.
  proxy = await startProxyCli(home, ['--db', 'customers', '--db-user', 'app_ro', '--task', 'cancel a sleep']);
});
afterAll(async () => {
  await proxy?.proc.stop();
  await tc?.close();
});

test('a CancelRequest sent with the connection closed right behind it cancels the running statement', async () => {
  const c = new pg.Client({ connectionString: proxy.ready.url });
  await c.connect();
  const started = Date.now();
  const sleeping = c.query('SELECT pg_sleep(30)').then(() => undefined, (e: { code?: string }) => e);
  // Sent once the statement runs at PostgreSQL (a cancel before that cancels nothing, as in PostgreSQL).
  const admin = new pg.Client({ connectionString: tc.cluster.info.databases[0]!.adminUrl });
  await admin.connect();
  for (;;) {
    const { rows } = await admin.query("SELECT 1 FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)' AND state = 'active'");
    if (rows.length > 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  await admin.end();
  const key = Buffer.alloc(4);
  const { processID, secretKey } = c as unknown as { processID: number; secretKey: number };
  key.writeInt32BE(secretKey);
  await new Promise<void>((resolve, reject) => {
    const s = net.connect(proxy.ready.port, proxy.ready.host, () => s.end(cancelRequest(processID, key)));
    s.on('error', reject);
    s.on('close', () => resolve());
    s.resume();
  });
  expect(await sleeping).toMatchObject({ code: '57014' });
  // Canceled, not run to its end.
  expect(Date.now() - started).toBeLessThan(25_000);
  await c.end();
});
