// The PostgreSQL store keeps the same index as the sqlite store for one requester's access requests
// (test/unit/store-sqlite-request-index.test.ts says why: every certificate issued reads them).
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { openPostgresStore } from '../../src/store/index.js';

const url = inject('pgAdminUrl');
const schema = `agentdb_test_${randomBytes(6).toString('hex')}`;
let admin: pg.Client;

beforeAll(async () => {
  admin = new pg.Client({ connectionString: url });
  await admin.connect();
});

afterAll(async () => {
  await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await admin.end();
});

describe('postgres store: access requests of one requester', () => {
  test('are read through access_requests_requester, also in a schema made before it (migration 3)', async () => {
    await (await openPostgresStore(url, { schema })).close();
    const plan = async (): Promise<string> => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        // A new table is tiny, so the planner would scan it whatever the indexes: ask for the index path it has.
        await c.query('SET enable_seqscan = off');
        const r = await c.query<{ 'QUERY PLAN': string }>(
          `EXPLAIN SELECT id FROM "${schema}".access_requests WHERE state = 'approved' AND kind = 'role' AND requester = 'agent-1' ORDER BY created_at DESC, id LIMIT 100`,
        );
        return r.rows.map((row) => row['QUERY PLAN']).join('\n');
      } finally {
        await c.end();
      }
    };
    expect(await plan()).toMatch(/access_requests_requester/);
    // A store migrated before this index: opening it again adds the index.
    await admin.query(`DROP INDEX "${schema}".access_requests_requester`);
    await admin.query(`DELETE FROM "${schema}".schema_version WHERE version >= 3`);
    expect(await plan()).not.toMatch(/access_requests_requester/);
    await (await openPostgresStore(url, { schema })).close();
    expect(await plan()).toMatch(/access_requests_requester/);
  });
});
