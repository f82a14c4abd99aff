import { describe, expect, test } from 'vitest';
import { AUDIT_CODES, AuditError, AuditLog, GENESIS_HASH, type AuditEvent, type AuditEventInput } from '../../src/audit/index.js';
import { StoreError } from '../../src/store/index.js';
import { countingStore, installFailSwitch, queryEvent, tempStores } from './audit-fixtures.js';
import { rejected } from '../helpers/expect-coded.js';

const stores = tempStores();
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const ISO_MS_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('building events', () => {
  test('submit assigns id, time, code and the chain at once', async () => {
    const { store } = await stores.open();
    const log = await AuditLog.open(store);
    const before = Date.now();
    const [a, b] = log.submit([queryEvent(1), queryEvent(2)], () => undefined);
    expect(a?.id).toMatch(UUID_V7);
    expect(a?.id).not.toBe(b?.id);
    expect(a?.time).toMatch(ISO_MS_UTC);
    expect(Date.parse(a?.time ?? '')).toBeGreaterThanOrEqual(before);
    expect(a?.code).toBe('ADB02I');
    expect(a?.prevHash).toBe(GENESIS_HASH);
    expect(b?.prevHash).toBe(a?.hash);
    expect(a?.hash).toMatch(/^[0-9a-f]{64}$/);
    await log.flush();
  });

  test('a given time is kept, normalised to UTC with milliseconds; a given code is kept', async () => {
    const { store } = await stores.open();
    const log = await AuditLog.open(store);
    const [e] = await log.write([queryEvent(1, { time: '2025-06-15T16:22:00+02:00', code: 'XCUSTOM' })]);
    expect(e?.time).toBe('2025-06-15T14:22:00.000Z');
    expect(e?.code).toBe('XCUSTOM');
  });

  test('codes follow type and outcome', async () => {
    const { store } = await stores.open();
    const log = await AuditLog.open(store);
    const base = queryEvent(1);
    const denyStatement = { sql: 'DROP TABLE orders', decision: 'deny' as const, rule: 'no-ddl' };
    const cases: [AuditEventInput, string][] = [
      [{ type: 'login' }, AUDIT_CODES.loginOk],
      [{ type: 'login', result: { error: { code: 'bad_token', message: 'expired' } } }, AUDIT_CODES.loginFailed],
      [{ ...base, type: 'db.session.start', statement: undefined, result: undefined }, 'ADB00I'],
      [{ ...base, type: 'db.session.denied', statement: undefined, result: undefined, message: 'locked' }, 'ADB00W'],
      [{ ...base, type: 'db.session.denied', statement: denyStatement }, 'ADB02W'],
      [{ ...base, statement: denyStatement }, 'ADB02W'],
      [{ ...base, result: { error: { code: '42501', message: 'permission denied' } } }, 'ADB02E'],
      [{ ...base, type: 'db.session.review', statement: { sql: 'DELETE FROM orders', decision: 'review' } }, 'ADB03I'],
      [{ ...base, type: 'db.session.end' }, 'ADB01I'],
      [{ type: 'cert.issued', details: { serial: 'ab' } }, 'ACI00I'],
      [{ type: 'request.created' }, 'ARQ00I'],
      [{ type: 'request.approved' }, 'ARQ01I'],
      [{ type: 'request.denied' }, 'ARQ02W'],
      [{ type: 'request.expired' }, 'ARQ03W'],
      [{ type: 'lock.created' }, 'ALK00I'],
      [{ type: 'lock.removed' }, 'ALK01I'],
    ];
    const events = await log.write(cases.map(([input]) => input));
    expect(events.map((e) => e.code)).toEqual(cases.map(([, code]) => code));
  });

  test('malformed input throws AGENTDB_ERR_AUDIT_BAD_EVENT at submit and queues nothing', async () => {
    const { store } = await stores.open();
    const log = await AuditLog.open(store);
    const [first] = await log.write([queryEvent(0)]);
    const bad: unknown[] = [
      { type: 'db.session.nope' },
      {},
      null,
      'login',
      queryEvent(1, { identity: { name: 'x', kind: 'robot' as 'bot', roles: [] } }),
      queryEvent(1, { identity: { name: 'x', kind: 'bot', roles: 'admin' as unknown as string[] } }),
      queryEvent(1, { statement: { sql: 'SELECT 1', decision: 'maybe' as 'allow' } }),
      queryEvent(1, { statement: { sql: 1 as unknown as string, decision: 'allow' } }),
      queryEvent(1, { statement: { sql: 'SELECT $1', params: [1 as unknown as string], decision: 'allow' } }),
      queryEvent(1, { result: { rows: Number.NaN } }),
      queryEvent(1, { time: 'yesterday' }),
      queryEvent(1, { code: '' }),
      queryEvent(1, { details: [] as unknown as Record<string, unknown> }),
      queryEvent(1, { details: { n: 1n } }),
      { ...queryEvent(1), hash: 'mine' },
      { ...queryEvent(1), password: 'hunter2' },
    ];
    for (const input of bad) {
      let err: unknown;
      const called: unknown[] = [];
      try {
        log.submit([queryEvent(1), input as AuditEventInput], (e) => called.push(e));
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(input, (_k, v: unknown) => (typeof v === 'bigint' ? 'bigint' : v))).toBeInstanceOf(AuditError);
      expect(['AGENTDB_ERR_AUDIT_BAD_EVENT', 'AGENTDB_ERR_AUDIT_NOT_JSON']).toContain((err as AuditError).code);
      expect(called).toEqual([]);
    }
    expect(() => log.submit('x' as unknown as AuditEventInput[], () => undefined)).toThrow(AuditError);
    expect(() => log.submit([], undefined as unknown as () => void)).toThrow(AuditError);
    // Nothing was chained: the next event follows the first.
    const [next] = await log.write([queryEvent(2)]);
    expect(next?.prevHash).toBe(first?.hash);
    expect(await log.verify()).toEqual({ ok: true, count: 2 });
  });
});

describe('group commit', () => {
  test('N submits in one turn are ONE appendAudit call; callbacks run after it, in submit order', async () => {
    const real = await stores.open();
    const { store, calls } = countingStore(real.store);
    const log = await AuditLog.open(store);
    const order: number[] = [];
    const n = 50;
    for (let i = 0; i < n; i++) {
      log.submit([queryEvent(i), queryEvent(i + 1000)], (err) => {
        expect(err).toBeUndefined();
        order.push(i);
      });
    }
    expect(order).toEqual([]); // nothing is durable yet
    expect(calls).toEqual([]); // and nothing written yet: the write waits for the turn to end
    await log.flush();
    expect(calls).toEqual([2 * n]);
    expect(order).toEqual([...Array(n).keys()]);
    expect(await log.verify()).toEqual({ ok: true, count: 2 * n });
  });

  test('submits in separate turns are separate writes', async () => {
    const real = await stores.open();
    const { store, calls } = countingStore(real.store);
    const log = await AuditLog.open(store);
    await log.write([queryEvent(1)]);
    await log.write([queryEvent(2), queryEvent(3)]);
    await log.flush(); // nothing pending: no write
    expect(calls).toEqual([1, 2]);
  });

  test('while a write is in flight, later submits gather into the next single write', async () => {
    const real = await stores.open();
    const { store, calls } = countingStore(real.store, 30);
    const log = await AuditLog.open(store);
    const done: string[] = [];
    log.submit([queryEvent(0)], () => done.push('a'));
    await turn();
    expect(calls).toEqual([1]); // in flight
    log.submit([queryEvent(1)], () => done.push('b'));
    await turn();
    log.submit([queryEvent(2)], () => done.push('c'));
    await turn();
    expect(calls).toEqual([1]); // b and c wait for a
    await log.flush();
    expect(calls).toEqual([1, 2]);
    expect(done).toEqual(['a', 'b', 'c']);
    expect(await log.verify()).toEqual({ ok: true, count: 3 });
  });

  test('write() resolves with the stored events', async () => {
    const { store } = await stores.open();
    const log = await AuditLog.open(store);
    const events = await log.write([queryEvent(1)]);
    const [stored] = await log.search({});
    expect(stored).toEqual(JSON.parse(JSON.stringify(events[0])));
  });
});

describe('a failing store', () => {
  test('callbacks get AGENTDB_ERR_AUDIT_WRITE_FAILED, and the chain goes on from the last stored hash', async () => {
    const { store, file } = await stores.open();
    installFailSwitch(file);
    const log = await AuditLog.open(store);
    const [stored] = await log.write([queryEvent(0)]);

    await store.putKv('fail', true);
    const errors: (Error | undefined)[] = [];
    const lost = log.submit([queryEvent(1)], (e) => errors.push(e));
    log.submit([queryEvent(2)], (e) => errors.push(e));
    await expect(log.flush()).rejects.toMatchObject({ code: 'AGENTDB_ERR_AUDIT_WRITE_FAILED' });
    expect(errors).toHaveLength(2);
    for (const e of errors) {
      expect(e).toBeInstanceOf(AuditError);
      expect((e as AuditError).code).toBe('AGENTDB_ERR_AUDIT_WRITE_FAILED');
      expect((e as AuditError).cause).toBeInstanceOf(StoreError);
    }
    await expect(log.write([queryEvent(3)])).rejects.toMatchObject({ code: 'AGENTDB_ERR_AUDIT_WRITE_FAILED' });

    await store.putKv('fail', false);
    const [next] = await log.write([queryEvent(4)]);
    expect(next?.prevHash).toBe(stored?.hash);
    expect(next?.prevHash).not.toBe(lost[0]?.hash);
    expect(await log.verify()).toEqual({ ok: true, count: 2 });
  });

  test('events queued behind a failing in-flight write fail too (they were chained on it)', async () => {
    const real = await stores.open();
    installFailSwitch(real.file);
    const { store, calls } = countingStore(real.store, 30);
    const log = await AuditLog.open(store);
    await store.putKv('fail', true);
    const results: string[] = [];
    log.submit([queryEvent(1)], (e) => results.push(`a:${e ? 'failed' : 'ok'}`));
    await turn();
    log.submit([queryEvent(2)], (e) => results.push(`b:${e ? 'failed' : 'ok'}`));
    await store.putKv('fail', false); // too late for b: it sits on a's hash
    await log.flush().catch(() => undefined);
    expect(results).toEqual(['a:failed', 'b:failed']);
    expect(calls).toEqual([1]);
    const [c] = await log.write([queryEvent(3)]);
    expect(c?.prevHash).toBe(GENESIS_HASH);
    expect(await log.verify()).toEqual({ ok: true, count: 1 });
  });

  test('a closed store fails the write the same way', async () => {
    const { store } = await stores.open();
    const log = await AuditLog.open(store);
    await store.close();
    await rejected(AuditError, log.write([queryEvent(1)]), 'AGENTDB_ERR_AUDIT_WRITE_FAILED', /closed/);
  });

  test('an event submitted from inside a failure callback chains on the stored head', async () => {
    const { store, file } = await stores.open();
    installFailSwitch(file);
    const log = await AuditLog.open(store);
    const [first] = await log.write([queryEvent(0)]);
    await store.putKv('fail', true);
    let retried: AuditEvent[] = [];
    log.submit([queryEvent(1)], () => {
      retried = log.submit([{ type: 'db.session.end', message: 'audit unavailable' }], () => undefined);
    });
    await log.flush().catch(() => undefined);
    expect(retried[0]?.prevHash).toBe(first?.hash);
  });
});
