// What the next start of a gateway killed -9 writes (src/server/open-sessions.ts), on a real store: an end for
// each session it started and never ended, and for nothing else — not another gateway's sessions (a shared
// store), not a session that never started, not one that ended, not one closed by an earlier start.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { AuditLog, type AuditEventInput } from '../../src/audit/index.js';
import { closeSessionsLeftOpen, gatewayInstance, GATEWAY_RESTART_REASON } from '../../src/server/index.js';
import { openSqliteStore, type Store } from '../../src/store/index.js';

let dir: string;
let store: Store;
let audit: AuditLog;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'agentdb-faults-restart-sweep-'));
  store = await openSqliteStore(path.join(dir, 'agentdb.db'));
  audit = await AuditLog.open(store, { journal: path.join(dir, 'audit.journal') });
});
afterEach(async () => {
  await audit.close();
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

const who = { identity: { name: 'alice', kind: 'human' as const, roles: ['support'] }, task: { id: 'tsk_1', reason: 'r', requester: 'alice' }, db: { service: 'customers', name: 'customers', user: 'app_rw' }, client: { addr: '127.0.0.1:1' } };
const start = (sid: string, gateway: string, failed = false): AuditEventInput => ({
  type: 'db.session.start', sid, ...who, details: { protocol: '3.0', gateway }, ...(failed ? { result: { error: { code: '08006', message: 'no backend' } } } : {}),
});
const end = (sid: string): AuditEventInput => ({ type: 'db.session.end', sid, ...who, message: 'client disconnected' });

describe('closing the sessions a killed gateway left open', () => {
  test('only this gateway\'s started, unended sessions get db.session.end gateway-restart, once', async () => {
    const me = await gatewayInstance(dir);
    expect(await gatewayInstance(dir), 'the id is kept in the data dir').toBe(me);
    // The first start of this gateway: nothing to close, and the start is marked.
    expect(await closeSessionsLeftOpen(store, audit, me)).toBe(0);
    await audit.write([start('s-open', me), start('s-other', 'another-gateway'), start('s-ended', me), end('s-ended'), start('s-failed', me, true), start('s-open2', me)]);

    expect(await closeSessionsLeftOpen(store, audit, me)).toBe(2);
    const ends = await audit.search({ type: 'db.session.end', limit: 100 });
    const restart = ends.filter((e) => e.message === GATEWAY_RESTART_REASON);
    expect(restart.map((e) => e.sid).sort()).toEqual(['s-open', 's-open2']);
    expect(restart[0]).toMatchObject({ ...who, details: { gateway: me } });

    // The next start finds them closed (and began after them): nothing more.
    expect(await closeSessionsLeftOpen(store, audit, me)).toBe(0);
    expect((await audit.verify()).ok).toBe(true);
  });
});
