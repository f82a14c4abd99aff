// The control plane and gateway keeping their state in PostgreSQL instead of the embedded SQLite file.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, inject, test } from 'vitest';
import pg from 'pg';
import { agentdb, loginAgent, loginAlice, startProxyCli, startTestCluster, type TestCluster } from '../helpers/cluster.js';

const schema = `agentdb_it_${randomBytes(4).toString('hex')}`;
let tc: TestCluster;

beforeAll(async () => {
  process.env.AGENTDB_IT_STORE_URL = inject('pgAdminUrl');
  tc = await startTestCluster('pgstore', (config) => {
    config.store = { postgres: { urlEnv: 'AGENTDB_IT_STORE_URL', schema } };
  });
});

afterAll(async () => {
  await tc?.close();
  const admin = new pg.Client({ connectionString: inject('pgAdminUrl') });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.end();
});

test('logins, statements, audit search, playback and the hash chain all live in the PostgreSQL store', async () => {
  const agentHome = await tc.newHome();
  const aliceHome = await tc.newHome();
  await loginAgent(tc, agentHome);
  await loginAlice(tc, aliceHome);
  const { proc, ready } = await startProxyCli(agentHome, ['--db', 'customers', '--task', 'postgres store']);
  const c = new pg.Client({ connectionString: ready.url });
  await c.connect();
  expect((await c.query('SELECT count(*)::int AS n FROM orders')).rows[0].n).toBeGreaterThan(0);
  await c.end();
  await proc.stop();

  const search = await agentdb(aliceHome, ['audit', 'search', '--task', 'postgres store', '--type', 'db.session.query', '--format', 'json']);
  expect(search.code, search.stderr).toBe(0);
  const events = search.stdout.trim().split('\n').map((l) => JSON.parse(l));
  expect(events.map((e) => e.statement.sql)).toEqual(['SELECT count(*)::int AS n FROM orders']);
  expect((await agentdb(aliceHome, ['audit', 'verify'])).code).toBe(0);

  // The rows are in PostgreSQL, in the configured schema, and no SQLite store was made.
  const admin = new pg.Client({ connectionString: inject('pgAdminUrl') });
  await admin.connect();
  const audit = await admin.query(`SELECT count(*)::int AS n FROM ${schema}.audit WHERE type = 'db.session.query'`);
  const sessions = await admin.query(`SELECT count(*)::int AS n FROM ${schema}.login_sessions`);
  await admin.end();
  expect(audit.rows[0].n).toBe(1);
  expect(sessions.rows[0].n).toBe(2);
  const { existsSync } = await import('node:fs');
  expect(existsSync(`${tc.dataDir}/agentdb.db`)).toBe(false);

  let play = '';
  for (let i = 0; i < 50 && !play.includes('Session ended'); i++) {
    play = (await agentdb(aliceHome, ['play', events[0].sid])).stdout;
    if (!play.includes('Session ended')) await new Promise((r) => setTimeout(r, 100));
  }
  expect(play).toMatch(/SELECT count\(\*\)::int AS n FROM orders;\nSUCCESS \(1 row affected\)/);
});
