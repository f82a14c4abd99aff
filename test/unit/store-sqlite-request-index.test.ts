// Every certificate issued reads its requester's approved role grants (AccessRequests.grantedRoles). Those must be
// found through an index on the requester, not by walking every approval the store holds: approvals are never
// deleted, so that walk grew with the store (issue #13).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, describe, expect, test } from 'vitest';
import { openSqliteStore, type AccessRequestRecord } from '../../src/store/index.js';

const root = mkdtempSync(join(tmpdir(), 'agentdb-store-requests-'));
let n = 0;
const freshFile = (): string => join(root, `s${n++}.db`);

afterAll(() => rmSync(root, { recursive: true, force: true }));

// The shape of listRequests({ state, kind, requester }), as grantedRoles asks it.
const GRANTS_QUERY = 'SELECT id FROM access_requests WHERE state = ? AND kind = ? AND requester = ? ORDER BY created_at DESC, id LIMIT 100';

function planOf(db: DatabaseSync, sql: string): string {
  return db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all('approved', 'role', 'agent-1').map((r) => String(r['detail'])).join(' | ');
}

const approval = (i: number, requester: string, kind: AccessRequestRecord['kind'] = 'role'): AccessRequestRecord => ({
  id: `req_${String(i).padStart(6, '0')}`,
  kind,
  state: 'approved',
  requester,
  data: kind === 'role' ? { role: `role-${i}` } : { sql: 'DELETE FROM orders' },
  createdAt: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(),
  expiresAt: '2030-01-01T00:00:00.000Z',
});

describe('sqlite store: access requests of one requester', () => {
  test('are read through access_requests_requester, not the state index', async () => {
    const file = freshFile();
    await (await openSqliteStore(file)).close();
    const db = new DatabaseSync(file);
    try {
      expect(planOf(db, GRANTS_QUERY)).toMatch(/USING (COVERING )?INDEX access_requests_requester \(requester=\? AND kind=\? AND state=\?\)/);
    } finally {
      db.close();
    }
  });

  test('a store made before the index gets it when opened (migration 4)', async () => {
    const file = freshFile();
    await (await openSqliteStore(file)).close();
    const db = new DatabaseSync(file);
    db.exec('DROP INDEX access_requests_requester; DELETE FROM schema_version WHERE version >= 4');
    expect(planOf(db, GRANTS_QUERY)).not.toMatch(/access_requests_requester/);
    db.close();
    await (await openSqliteStore(file)).close();
    const again = new DatabaseSync(file);
    try {
      expect(planOf(again, GRANTS_QUERY)).toMatch(/access_requests_requester/);
    } finally {
      again.close();
    }
  });

  test("finds one requester's approved role grants, newest first, among many others' approvals", async () => {
    const store = await openSqliteStore(freshFile());
    try {
      for (let i = 0; i < 300; i++) await store.putRequest(approval(i, i % 2 ? 'agent-2' : 'agent-3', i % 3 ? 'role' : 'statement'));
      await store.putRequest(approval(1000, 'agent-1'));
      await store.putRequest(approval(1001, 'agent-1', 'statement'));
      await store.putRequest(approval(1002, 'agent-1'));
      const mine = await store.listRequests({ state: 'approved', kind: 'role', requester: 'agent-1' });
      expect(mine.map((r) => r.id)).toEqual(['req_001002', 'req_001000']);
      // The limit still applies (it is written into the statement rather than bound).
      expect((await store.listRequests({ state: 'approved', requester: 'agent-2', limit: 7 })).length).toBe(7);
      expect((await store.listRequests({ state: 'approved', requester: 'agent-2', limit: 7.9 })).length).toBe(7);
    } finally {
      await store.close();
    }
  });
});
