// The suite every Store implementation passes (sqlite now, PostgreSQL later). `open` must give a
// fresh, empty store each time; the suite closes it.
import { afterEach, describe, expect, test } from 'vitest';
import { StoreError, type AccessRequestRecord, type AuditRecord, type Store } from '../../src/store/index.js';
import { rejected } from './expect-coded.js';
import { AuditLog, CHECKPOINT_KV_KEY } from '../../src/audit/index.js';
import { signerFromKey } from '../../src/audit/checkpoint.js';
import { generateKeyPairSync } from 'node:crypto';

const HEX0 = '0'.repeat(64);

function hashFor(n: number): string {
  return n.toString(16).padStart(64, 'a');
}

/** A record with distinct searchable columns; `over` replaces any of them. */
export function auditRecord(n: number, over: Partial<AuditRecord> = {}): AuditRecord {
  const r: AuditRecord = {
    id: `00000000-0000-4000-8000-${n.toString().padStart(12, '0')}`,
    time: new Date(Date.UTC(2025, 5, 15, 14, 0, 0) + n * 1000).toISOString(),
    type: 'db.session.query',
    code: 'ADB02I',
    prevHash: n === 0 ? HEX0 : hashFor(n - 1),
    hash: hashFor(n),
    json: JSON.stringify({ n }),
    ...over,
  };
  return r;
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

const rejectsWithCode = (p: Promise<unknown>, code: string): Promise<StoreError> => rejected(StoreError, p, code);

export function storeContract(name: string, open: () => Promise<Store>): void {
  describe(`Store contract: ${name}`, () => {
    const opened: Store[] = [];
    const fresh = async (): Promise<Store> => {
      const s = await open();
      opened.push(s);
      return s;
    };
    afterEach(async () => {
      for (const s of opened.splice(0)) await s.close();
    });

    describe('audit', () => {
      test('keeps insertion order across calls and reports the chain head', async () => {
        const s = await fresh();
        expect(await s.lastAuditHash()).toBeUndefined();
        await s.appendAudit([auditRecord(0), auditRecord(1)]);
        await s.appendAudit([]);
        // Same time for all three: order must come from insertion, not from time or id.
        await s.appendAudit([auditRecord(2, { time: auditRecord(0).time, id: 'ffffffff-0000-4000-8000-000000000000' })]);
        expect(await s.lastAuditHash()).toBe(hashFor(2));
        const all = await collect(s.scanAudit());
        expect(all.map((r) => r.hash)).toEqual([hashFor(0), hashFor(1), hashFor(2)]);
      });

      test('gives back every field, and leaves unset optional fields absent', async () => {
        const s = await fresh();
        const full = auditRecord(0, {
          sid: 'sid-1', identityName: 'alice', dbService: 'customers', taskId: 'T-1',
          taskReason: 'check refunds', sql: 'SELECT 1',
        });
        const bare = auditRecord(1);
        await s.appendAudit([full, bare]);
        const [a, b] = await collect(s.scanAudit());
        expect(a).toEqual(full);
        expect(b).toEqual(bare);
        expect(Object.keys(b ?? {})).not.toContain('sid');
      });

      test('a batch is one transaction: a duplicate id in it stores nothing', async () => {
        const s = await fresh();
        await s.appendAudit([auditRecord(0)]);
        await rejectsWithCode(s.appendAudit([auditRecord(1), auditRecord(0)]), 'AGENTDB_ERR_STORE_DUPLICATE');
        expect((await collect(s.scanAudit())).length).toBe(1);
        expect(await s.lastAuditHash()).toBe(hashFor(0));
      });

      test('malformed records are refused before anything is written', async () => {
        const s = await fresh();
        await rejectsWithCode(s.appendAudit([auditRecord(0), auditRecord(1, { time: 'yesterday' })]), 'AGENTDB_ERR_STORE_BAD_RECORD');
        await rejectsWithCode(s.appendAudit([auditRecord(0, { hash: '' })]), 'AGENTDB_ERR_STORE_BAD_RECORD');
        await rejectsWithCode(s.appendAudit([auditRecord(0, { sid: 42 as unknown as string })]), 'AGENTDB_ERR_STORE_BAD_RECORD');
        await rejectsWithCode(s.appendAudit([null as unknown as AuditRecord]), 'AGENTDB_ERR_STORE_BAD_RECORD');
        await rejectsWithCode(s.appendAudit('nope' as unknown as AuditRecord[]), 'AGENTDB_ERR_STORE_BAD_RECORD');
        expect(await collect(s.scanAudit())).toEqual([]);
      });

      test('scanAudit walks more than one page in order', async () => {
        const s = await fresh();
        const n = 1234;
        const batch: AuditRecord[] = [];
        for (let i = 0; i < n; i++) batch.push(auditRecord(i));
        await s.appendAudit(batch);
        let i = 0;
        for await (const r of s.scanAudit()) {
          expect(r.hash).toBe(hashFor(i));
          i++;
        }
        expect(i).toBe(n);
      });

      describe('searchAudit', () => {
        const seeded = async (): Promise<Store> => {
          const s = await fresh();
          await s.appendAudit([
            auditRecord(0, { type: 'login', code: 'ALG00I', identityName: 'alice' }),
            auditRecord(1, { type: 'db.session.start', sid: 's1', identityName: 'alice', dbService: 'customers', taskId: 'T-1', taskReason: 'Check REFUNDS for June' }),
            auditRecord(2, { sid: 's1', identityName: 'alice', dbService: 'customers', taskId: 'T-1', taskReason: 'Check REFUNDS for June', sql: "SELECT * FROM Orders WHERE region = 'us'" }),
            auditRecord(3, { sid: 's2', identityName: 'bot-ci', dbService: 'billing', taskId: 'T-2', taskReason: 'nightly export', sql: 'select count(*) from invoices' }),
            auditRecord(4, { type: 'db.session.end', sid: 's1', identityName: 'alice', dbService: 'customers', taskId: 'T-1', taskReason: 'Check REFUNDS for June' }),
            auditRecord(5, { type: 'db.sessionx', sid: 's3' }),
          ]);
          return s;
        };
        const ns = (rs: AuditRecord[]): number[] => rs.map((r) => (JSON.parse(r.json) as { n: number }).n);

        test('no filter gives everything in insertion order', async () => {
          const s = await seeded();
          expect(ns(await s.searchAudit({}))).toEqual([0, 1, 2, 3, 4, 5]);
        });
        test('user, db and sid match exactly', async () => {
          const s = await seeded();
          expect(ns(await s.searchAudit({ user: 'alice' }))).toEqual([0, 1, 2, 4]);
          expect(ns(await s.searchAudit({ user: 'Alice' }))).toEqual([]);
          expect(ns(await s.searchAudit({ db: 'billing' }))).toEqual([3]);
          expect(ns(await s.searchAudit({ sid: 's1' }))).toEqual([1, 2, 4]);
        });
        test('task matches the id exactly or the reason as a case-insensitive substring', async () => {
          const s = await seeded();
          expect(ns(await s.searchAudit({ task: 'T-2' }))).toEqual([3]);
          expect(ns(await s.searchAudit({ task: 'T-' }))).toEqual([]);
          expect(ns(await s.searchAudit({ task: 'refunds' }))).toEqual([1, 2, 4]);
          expect(ns(await s.searchAudit({ task: 'NIGHTLY' }))).toEqual([3]);
        });
        test('type matches exactly or by a prefix ending in *', async () => {
          const s = await seeded();
          expect(ns(await s.searchAudit({ type: 'db.session.query' }))).toEqual([2, 3]);
          expect(ns(await s.searchAudit({ type: 'db.session.*' }))).toEqual([1, 2, 3, 4]);
          expect(ns(await s.searchAudit({ type: 'db.session' }))).toEqual([]);
          expect(ns(await s.searchAudit({ type: 'db.*' }))).toEqual([1, 2, 3, 4, 5]);
          expect(ns(await s.searchAudit({ type: '*' }))).toEqual([0, 1, 2, 3, 4, 5]);
          await rejectsWithCode(s.searchAudit({ type: 'db.*.query' }), 'AGENTDB_ERR_STORE_BAD_QUERY');
        });
        test('since and until are inclusive bounds on time', async () => {
          const s = await seeded();
          const at = (n: number): Date => new Date(auditRecord(n).time);
          expect(ns(await s.searchAudit({ since: at(3) }))).toEqual([3, 4, 5]);
          expect(ns(await s.searchAudit({ until: at(1) }))).toEqual([0, 1]);
          expect(ns(await s.searchAudit({ since: at(1), until: at(2) }))).toEqual([1, 2]);
          expect(ns(await s.searchAudit({ since: new Date(at(2).getTime() + 1) }))).toEqual([3, 4, 5]);
          await rejectsWithCode(s.searchAudit({ since: new Date('nope') }), 'AGENTDB_ERR_STORE_BAD_QUERY');
          await rejectsWithCode(s.searchAudit({ since: at(3), until: at(1) }), 'AGENTDB_ERR_STORE_BAD_QUERY');
          await rejectsWithCode(s.searchAudit({ since: '2025-01-01' as unknown as Date }), 'AGENTDB_ERR_STORE_BAD_QUERY');
        });
        test('query is a case-insensitive substring of the SQL', async () => {
          const s = await seeded();
          expect(ns(await s.searchAudit({ query: 'from orders' }))).toEqual([2]);
          expect(ns(await s.searchAudit({ query: 'SELECT' }))).toEqual([2, 3]);
          expect(ns(await s.searchAudit({ query: '%' }))).toEqual([]);
        });
        test('filters combine with AND', async () => {
          const s = await seeded();
          expect(ns(await s.searchAudit({ user: 'alice', type: 'db.session.*', query: 'orders' }))).toEqual([2]);
          expect(ns(await s.searchAudit({ db: 'customers', task: 'T-2' }))).toEqual([]);
        });
        test('limit and order', async () => {
          const s = await seeded();
          expect(ns(await s.searchAudit({ limit: 2 }))).toEqual([0, 1]);
          expect(ns(await s.searchAudit({ limit: 2, order: 'desc' }))).toEqual([5, 4]);
          expect(ns(await s.searchAudit({ order: 'desc', sid: 's1' }))).toEqual([4, 2, 1]);
          for (const limit of [0, -1, 1.5, 1e9, Number.NaN]) {
            await rejectsWithCode(s.searchAudit({ limit }), 'AGENTDB_ERR_STORE_BAD_QUERY');
          }
          await rejectsWithCode(s.searchAudit({ order: 'up' as 'asc' }), 'AGENTDB_ERR_STORE_BAD_QUERY');
          await rejectsWithCode(s.searchAudit({ user: 7 as unknown as string }), 'AGENTDB_ERR_STORE_BAD_QUERY');
        });
        test('the default limit is 100', async () => {
          const s = await fresh();
          const batch: AuditRecord[] = [];
          for (let i = 0; i < 150; i++) batch.push(auditRecord(i));
          await s.appendAudit(batch);
          expect((await s.searchAudit({})).length).toBe(100);
          expect((await s.searchAudit({ limit: 150 })).length).toBe(150);
        });
      });
    });

    describe('login sessions', () => {
      const session = {
        id: 'ls-1', secretHash: 'h1', identity: { name: 'alice', roles: ['dev'], nested: { n: 1 } },
        createdAt: '2025-06-15T14:00:00.000Z', expiresAt: '2025-06-15T22:00:00.000Z',
      };
      test('round trip, replace, and unknown ids', async () => {
        const s = await fresh();
        expect(await s.getLoginSession('ls-1')).toBeUndefined();
        await s.putLoginSession(session);
        expect(await s.getLoginSession('ls-1')).toEqual(session);
        await s.putLoginSession({ ...session, secretHash: 'h2' });
        expect((await s.getLoginSession('ls-1'))?.secretHash).toBe('h2');
      });
      test('revoke once: true, then false; unknown: false', async () => {
        const s = await fresh();
        await s.putLoginSession(session);
        expect(await s.revokeLoginSession('ls-1', '2025-06-15T15:00:00.000Z')).toBe(true);
        expect(await s.revokeLoginSession('ls-1', '2025-06-15T16:00:00.000Z')).toBe(false);
        expect((await s.getLoginSession('ls-1'))?.revokedAt).toBe('2025-06-15T15:00:00.000Z');
        expect(await s.revokeLoginSession('nobody', '2025-06-15T15:00:00.000Z')).toBe(false);
      });
      test('bad input is refused', async () => {
        const s = await fresh();
        await rejectsWithCode(s.putLoginSession({ ...session, id: '' }), 'AGENTDB_ERR_STORE_BAD_RECORD');
        await rejectsWithCode(s.putLoginSession({ ...session, identity: undefined }), 'AGENTDB_ERR_STORE_BAD_RECORD');
        await rejectsWithCode(s.putLoginSession({ ...session, identity: { big: 1n } }), 'AGENTDB_ERR_STORE_BAD_RECORD');
        await rejectsWithCode(s.getLoginSession(undefined as unknown as string), 'AGENTDB_ERR_STORE_BAD_RECORD');
      });
    });

    describe('recordings', () => {
      const rec = (sid: string, seq: number, kind = 'statement') => ({
        sid, seq, time: '2025-06-15T14:22:00.000Z', kind, data: { sql: `SELECT ${seq}`, params: ['a', null] },
      });
      test('reads back by seq, per session', async () => {
        const s = await fresh();
        await s.appendRecording([rec('s1', 0, 'start'), rec('s2', 0, 'start')]);
        await s.appendRecording([rec('s1', 2), rec('s1', 1)]);
        expect(await s.readRecording('s1')).toEqual([rec('s1', 0, 'start'), rec('s1', 1), rec('s1', 2)]);
        expect(await s.readRecording('s2')).toEqual([rec('s2', 0, 'start')]);
        expect(await s.readRecording('none')).toEqual([]);
      });
      test('a batch is one transaction: a repeated seq stores nothing of it', async () => {
        const s = await fresh();
        await s.appendRecording([rec('s1', 0)]);
        await rejectsWithCode(s.appendRecording([rec('s1', 1), rec('s1', 0)]), 'AGENTDB_ERR_STORE_DUPLICATE');
        expect((await s.readRecording('s1')).length).toBe(1);
      });
      test('bad input is refused', async () => {
        const s = await fresh();
        await rejectsWithCode(s.appendRecording([{ ...rec('s1', 0), seq: -1 }]), 'AGENTDB_ERR_STORE_BAD_RECORD');
        await rejectsWithCode(s.appendRecording([{ ...rec('s1', 0), data: undefined }]), 'AGENTDB_ERR_STORE_BAD_RECORD');
        await rejectsWithCode(s.appendRecording([{ ...rec('s1', 0), sid: '' }]), 'AGENTDB_ERR_STORE_BAD_RECORD');
        expect(await s.readRecording('s1')).toEqual([]);
      });
    });

    describe('key/value', () => {
      test('missing, put, overwrite, delete', async () => {
        const s = await fresh();
        expect(await s.getKv('settings')).toBeUndefined();
        await s.putKv('settings', { a: 1, b: [true, null, 'x'] });
        expect(await s.getKv('settings')).toEqual({ a: 1, b: [true, null, 'x'] });
        await s.putKv('settings', 'plain');
        expect(await s.getKv('settings')).toBe('plain');
        await s.putKv('zero', 0);
        expect(await s.getKv('zero')).toBe(0);
        await s.putKv('settings', undefined);
        expect(await s.getKv('settings')).toBeUndefined();
      });
      test('values that are not JSON are refused', async () => {
        const s = await fresh();
        const cyclic: Record<string, unknown> = {};
        cyclic['self'] = cyclic;
        await rejectsWithCode(s.putKv('k', cyclic), 'AGENTDB_ERR_STORE_BAD_RECORD');
        await rejectsWithCode(s.putKv('k', () => 1), 'AGENTDB_ERR_STORE_BAD_RECORD');
        await rejectsWithCode(s.putKv('', 1), 'AGENTDB_ERR_STORE_BAD_RECORD');
      });
      test('the audit log keeps its signed checkpoint here: it survives a reopen, and a copy of the chain cut short fails', async () => {
        const s = await fresh();
        const signer = signerFromKey(generateKeyPairSync('ed25519').privateKey);
        const log = await AuditLog.open(s, { checkpoint: { signer, every: 3 } });
        for (let i = 0; i < 7; i++) await log.write([{ type: 'lock.created', message: `lock ${i}` }]);
        await log.close();
        expect(await (await AuditLog.open(s, { checkpoint: { signer } })).verify()).toMatchObject({ ok: true, count: 7, checkpoint: { events: 7 } });
        // The same checkpoint over a store that holds only the first five events: the tail was cut.
        const cut = await fresh();
        await cut.appendAudit((await collect(s.scanAudit())).slice(0, 5));
        await cut.putKv(CHECKPOINT_KV_KEY, await s.getKv(CHECKPOINT_KV_KEY));
        const r = await (await AuditLog.open(cut, { checkpoint: { signer } })).verify();
        expect(r).toMatchObject({ ok: false, count: 5 });
        expect(r.broken?.reason).toMatch(/the checkpoint signed at .* no longer holds: events after event #4 were cut/);
      });
    });

    describe('access requests', () => {
      const request = (id: string, createdAt: string, over: Partial<AccessRequestRecord> = {}): AccessRequestRecord => ({
        id, kind: 'statement', state: 'pending', requester: 'agent-1', data: { sql: 'DELETE FROM orders' },
        createdAt, expiresAt: '2030-01-01T00:00:00.000Z', ...over,
      });
      test('put, get, list newest first with filters', async () => {
        const s = await fresh();
        await s.putRequest(request('r1', '2026-01-01T00:00:00.000Z'));
        await s.putRequest(request('r2', '2026-01-01T00:00:01.000Z', { kind: 'role', requester: 'bob', data: { role: 'dba' } }));
        expect(await s.getRequest('r2')).toMatchObject({ kind: 'role', requester: 'bob', data: { role: 'dba' }, state: 'pending' });
        expect(await s.getRequest('nope')).toBeUndefined();
        expect((await s.listRequests({})).map((r) => r.id)).toEqual(['r2', 'r1']);
        expect((await s.listRequests({ kind: 'statement' })).map((r) => r.id)).toEqual(['r1']);
        expect((await s.listRequests({ requester: 'bob' })).map((r) => r.id)).toEqual(['r2']);
        await rejectsWithCode(s.putRequest(request('r1', '2026-01-01T00:00:00.000Z')), 'AGENTDB_ERR_STORE_DUPLICATE');
      });
      test('decideRequest is compare-and-set: only one decision wins', async () => {
        const s = await fresh();
        await s.putRequest(request('r1', '2026-01-01T00:00:00.000Z'));
        const at = '2026-01-01T00:01:00.000Z';
        expect(await s.decideRequest('r1', 'pending', { state: 'approved', decidedBy: 'alice', decidedAt: at })).toBe(true);
        expect(await s.decideRequest('r1', 'pending', { state: 'denied', decidedBy: 'carol', decidedAt: at, reason: 'no' })).toBe(false);
        expect(await s.getRequest('r1')).toMatchObject({ state: 'approved', decidedBy: 'alice', decidedAt: at });
        expect((await s.listRequests({ state: 'pending' })).length).toBe(0);
      });
      test('bad requests are refused', async () => {
        const s = await fresh();
        await rejectsWithCode(s.putRequest(request('r1', 'yesterday')), 'AGENTDB_ERR_STORE_BAD_RECORD');
        await rejectsWithCode(s.putRequest(request('r1', '2026-01-01T00:00:00.000Z', { state: 'maybe' as 'pending' })), 'AGENTDB_ERR_STORE_BAD_RECORD');
        await rejectsWithCode(s.listRequests({ state: 'maybe' as 'pending' }), 'AGENTDB_ERR_STORE_BAD_RECORD');
      });
    });

    describe('locks', () => {
      test('active locks leave out removed and expired ones; removal happens once', async () => {
        const s = await fresh();
        const base = { reason: 'incident 42', createdBy: 'alice', createdAt: '2026-01-01T00:00:00.000Z' };
        await s.putLock({ id: 'l1', target: { user: 'agent-1' }, ...base });
        await s.putLock({ id: 'l2', target: { task: 'tsk_1' }, ...base, expiresAt: '2026-01-01T01:00:00.000Z' });
        expect((await s.activeLocks('2026-01-01T00:30:00.000Z')).map((l) => l.id)).toEqual(['l1', 'l2']);
        expect((await s.activeLocks('2026-01-01T02:00:00.000Z')).map((l) => l.id)).toEqual(['l1']);
        expect(await s.removeLock('l1', 'bob', '2026-01-01T00:40:00.000Z')).toBe(true);
        expect(await s.removeLock('l1', 'bob', '2026-01-01T00:41:00.000Z')).toBe(false);
        expect((await s.activeLocks('2026-01-01T00:50:00.000Z')).map((l) => l.id)).toEqual(['l2']);
        await rejectsWithCode(s.putLock({ id: 'l3', target: {}, ...base }), 'AGENTDB_ERR_STORE_BAD_RECORD');
      });
    });

    test('after close every call fails with AGENTDB_ERR_STORE_CLOSED; close is idempotent', async () => {
      const s = await open();
      await s.close();
      await s.close();
      await rejectsWithCode(s.lastAuditHash(), 'AGENTDB_ERR_STORE_CLOSED');
      await rejectsWithCode(s.appendAudit([auditRecord(0)]), 'AGENTDB_ERR_STORE_CLOSED');
      await rejectsWithCode(s.getKv('k'), 'AGENTDB_ERR_STORE_CLOSED');
      await rejectsWithCode(collect(s.scanAudit()), 'AGENTDB_ERR_STORE_CLOSED');
    });
  });
}
