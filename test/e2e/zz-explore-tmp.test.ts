// TEMPORARY exploration harness (deleted before handing back): a cluster + proxy that stays up.
import { writeFileSync, existsSync } from 'node:fs';
import { test } from 'vitest';
import pg from 'pg';
import { loginAgent, startProxyCli, startTestCluster } from '../helpers/cluster.js';
test('explore', async () => {
  const tc = await startTestCluster('explore');
  const home = await tc.newHome();
  await loginAgent(tc, home);
  const admin = new pg.Client({ connectionString: tc.cluster.info.databases[0]!.adminUrl });
  await admin.connect();
  await admin.query(`CREATE VIEW customer_regions AS SELECT id, region FROM customers;
    CREATE FUNCTION order_total(customer integer) RETURNS numeric LANGUAGE sql STABLE AS 'SELECT sum(amount) FROM orders WHERE customer_id = customer';`);
  const { proc, ready } = await startProxyCli(home, ['--db', 'customers', '--task', 'explore', '--ttl', '1h']);
  writeFileSync('/tmp/matrix-ready.json', JSON.stringify({ ...ready, database: tc.database, adminUrl: tc.cluster.info.databases[0]!.adminUrl, home }));
  while (!existsSync('/tmp/matrix-stop')) await new Promise((r) => setTimeout(r, 1000));
  await proc.stop(); await admin.end(); await tc.close();
}, 3_600_000);
