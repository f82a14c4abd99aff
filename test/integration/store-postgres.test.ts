import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { openPostgresStore, StoreError, type Store } from '../../src/store/index.js';
import { PG_LATEST_SCHEMA_VERSION } from '../../src/store/postgres/migrations.js';
import { auditRecord, storeContract } from '../helpers/store-contract.js';
import { rejected } from '../helpers/expect-coded.js';

const url = inject('pgAdminUrl');
const schemas: string[] = [];
const freshSchema = (): string => {
  const s = `agentdb_test_${randomBytes(6).toString('hex')}`;
  schemas.push(s);
  return s;
};
let admin: pg.Client;

beforeAll(async () => {
  admin = new pg.Client({ connectionString: url });
  await admin.connect();
});

afterAll(async () => {
  for (const s of schemas) await admin.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
  await admin.end();
});

storeContract('postgres', () => openPostgresStore(url, { schema: freshSchema() }));

const failure = (p: Promise<unknown>): Promise<StoreError> => rejected(StoreError, p);

describe('postgres store schema', () => {
  test('data survives reopening, migrations run once, and two stores opening together both work', async () => {
    const schema = freshSchema();
    const [a, b] = await Promise.all([openPostgresStore(url, { schema }), openPostgresStore(url, { schema })]);
    await a.appendAudit([auditRecord(0), auditRecord(1)]);
    expect(await b.lastAuditHash()).toBe(auditRecord(1).hash);
    await Promise.all([a.close(), b.close()]);
    const c = await openPostgresStore(url, { schema });
    expect(await c.lastAuditHash()).toBe(auditRecord(1).hash);
    await c.close();
    const res = await admin.query(`SELECT count(*)::int AS c, max(version) AS v FROM "${schema}".schema_version`);
    expect(res.rows[0]).toEqual({ c: PG_LATEST_SCHEMA_VERSION, v: PG_LATEST_SCHEMA_VERSION });
  });

  test('a schema newer than this agentdb is refused with a clear error', async () => {
    const schema = freshSchema();
    await (await openPostgresStore(url, { schema })).close();
    await admin.query(`INSERT INTO "${schema}".schema_version (version, applied_at) VALUES (99, $1)`, [new Date().toISOString()]);
    const err = await failure(openPostgresStore(url, { schema }));
    expect(err.code).toBe('AGENTDB_ERR_STORE_SCHEMA_TOO_NEW');
    expect(err.message).toMatch(/upgrade agentdb/);
  });

  test('bad schema names, an empty URL and an unreachable server fail with AGENTDB_ERR_STORE_OPEN_FAILED', async () => {
    for (const schema of ['x"; DROP SCHEMA public; --', 'Upper', '', '1abc', 'a'.repeat(64)]) {
      expect((await failure(openPostgresStore(url, { schema }))).code).toBe('AGENTDB_ERR_STORE_OPEN_FAILED');
    }
    expect((await failure(openPostgresStore(''))).code).toBe('AGENTDB_ERR_STORE_OPEN_FAILED');
    const wrong = new URL(url);
    wrong.password = 'not-the-password-s3cret';
    const err = await failure(openPostgresStore(wrong.toString(), { schema: freshSchema() }));
    expect(err.code).toBe('AGENTDB_ERR_STORE_OPEN_FAILED');
    expect(err.message).not.toContain('s3cret');
    expect(err.message).toContain(wrong.hostname);
  });

  test('JSON edited behind the store reads as AGENTDB_ERR_STORE_CORRUPT, not a crash', async () => {
    const schema = freshSchema();
    const s = await openPostgresStore(url, { schema });
    await s.putKv('k', { a: 1 });
    await s.appendRecording([{ sid: 's', seq: 0, time: '2025-06-15T14:00:00.000Z', kind: 'start', data: {} }]);
    await admin.query(`UPDATE "${schema}".kv SET value = '{broken'; UPDATE "${schema}".recordings SET data = 'nope'`);
    for (const p of [s.getKv('k'), s.readRecording('s')]) expect((await failure(p)).code).toBe('AGENTDB_ERR_STORE_CORRUPT');
    await s.close();
  });

  test('search values are parameters: quotes and LIKE wildcards match literally', async () => {
    const s = await openPostgresStore(url, { schema: freshSchema() });
    await s.appendAudit([
      auditRecord(0, { sql: "SELECT 'it''s' -- 100%_done", identityName: "o'brien" }),
      auditRecord(1, { sql: 'SELECT 1000 done', taskReason: 'Révision ÉTÉ' }),
    ]);
    const ns = async (q: Parameters<Store['searchAudit']>[0]): Promise<string[]> => (await s.searchAudit(q)).map((r) => r.id);
    expect(await ns({ query: '100%_done' })).toEqual([auditRecord(0).id]);
    expect(await ns({ query: '%' })).toEqual([auditRecord(0).id]);
    expect(await ns({ user: "o'brien" })).toEqual([auditRecord(0).id]);
    expect(await ns({ type: "db.session.query' OR '1'='1" })).toEqual([]);
    // Lower-cased like JavaScript's toLowerCase (as the sqlite store does), beyond ASCII too.
    expect(await ns({ task: 'révision été' })).toEqual([auditRecord(1).id]);
    await s.close();
  });

  test('concurrent decisions from two gateways: exactly one wins', async () => {
    const schema = freshSchema();
    const a = await openPostgresStore(url, { schema });
    const b = await openPostgresStore(url, { schema });
    const ids = Array.from({ length: 20 }, (_, i) => `r${i}`);
    for (const id of ids) {
      await a.putRequest({
        id, kind: 'role', state: 'pending', requester: 'agent', data: { role: 'dba' },
        createdAt: '2026-01-01T00:00:00.000Z', expiresAt: '2030-01-01T00:00:00.000Z',
      });
    }
    const at = '2026-01-01T00:01:00.000Z';
    for (const id of ids) {
      const wins = await Promise.all([
        a.decideRequest(id, 'pending', { state: 'approved', decidedBy: 'alice', decidedAt: at, expiresAt: '2026-01-01T01:00:00.000Z' }),
        b.decideRequest(id, 'pending', { state: 'denied', decidedBy: 'bob', decidedAt: at }),
      ]);
      expect(wins.filter(Boolean)).toHaveLength(1);
      const r = await a.getRequest(id);
      expect(r?.decidedBy).toBe(wins[0] ? 'alice' : 'bob');
      expect(r?.expiresAt).toBe(wins[0] ? '2026-01-01T01:00:00.000Z' : '2030-01-01T00:00:00.000Z');
    }
    await Promise.all([a.close(), b.close()]);
  });

  test('batches appended from two stores at once each stay whole and in order', async () => {
    const schema = freshSchema();
    const a = await openPostgresStore(url, { schema });
    const b = await openPostgresStore(url, { schema });
    const batches = Array.from({ length: 10 }, (_, i) => [auditRecord(2 * i), auditRecord(2 * i + 1)]);
    await Promise.all(batches.map((batch, i) => (i % 2 === 0 ? a : b).appendAudit(batch)));
    const seen: string[] = [];
    for await (const r of a.scanAudit()) seen.push(r.id);
    expect(seen).toHaveLength(20);
    // Each batch stays contiguous and in its own order.
    for (const batch of batches) {
      const at = seen.indexOf(batch[0]!.id);
      expect(seen[at + 1]).toBe(batch[1]!.id);
    }
    await Promise.all([a.close(), b.close()]);
  });
});
