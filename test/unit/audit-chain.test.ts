import { createHash } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { AuditError, AuditLog, canonicalJson, eventHash, GENESIS_HASH, type AuditEvent } from '../../src/audit/index.js';
import { queryEvent, tamper, tempStores } from './audit-fixtures.js';
import { thrown } from '../helpers/expect-coded.js';

const stores = tempStores();

describe('canonicalJson', () => {
  test('sorts keys at every depth, has no whitespace, drops undefined members', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: undefined }, e: null })).toBe(
      '{"a":{"d":[3,{"y":2,"z":1}]},"b":1,"e":null}',
    );
    expect(canonicalJson({ x: 1, y: 2 })).toBe(canonicalJson({ y: 2, x: 1 }));
  });
  test('follows JSON for arrays, strings, numbers and toJSON', () => {
    expect(canonicalJson([1, undefined, 'a"b\n'])).toBe('[1,null,"a\\"b\\n"]');
    expect(canonicalJson(-0)).toBe('0');
    expect(canonicalJson(1e21)).toBe('1e+21');
    expect(canonicalJson({ at: new Date(Date.UTC(2025, 5, 15)) })).toBe('{"at":"2025-06-15T00:00:00.000Z"}');
    expect(canonicalJson('\ud800')).toBe(JSON.stringify('\ud800'));
  });
  test('refuses what JSON cannot say instead of dropping it', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic['me'] = cyclic;
    for (const v of [Number.NaN, Infinity, 1n, () => 1, Symbol('s'), undefined, { a: [cyclic] }]) {
      thrown(AuditError, () => canonicalJson(v), 'AGENTDB_ERR_AUDIT_NOT_JSON');
    }
    // A repeated (not cyclic) object is fine.
    const shared = { k: 1 };
    expect(canonicalJson({ a: shared, b: shared })).toBe('{"a":{"k":1},"b":{"k":1}}');
  });
});

describe('eventHash', () => {
  test('is sha256 hex of prevHash + canonical JSON of the event without hash', () => {
    const event: Omit<AuditEvent, 'hash'> = {
      id: 'e1', time: '2025-06-15T14:22:00.000Z', type: 'login', code: 'ALG00I', prevHash: GENESIS_HASH,
    };
    const expected = createHash('sha256')
      .update(GENESIS_HASH + '{"code":"ALG00I","id":"e1","prevHash":"' + GENESIS_HASH + '","time":"2025-06-15T14:22:00.000Z","type":"login"}')
      .digest('hex');
    expect(eventHash(GENESIS_HASH, event)).toBe(expected);
    expect(eventHash(GENESIS_HASH, { ...event, hash: 'ignored' } as AuditEvent)).toBe(expected);
    expect(eventHash('1'.repeat(64), event)).not.toBe(expected);
    expect(GENESIS_HASH).toBe('0'.repeat(64));
  });
});

describe('the chain as written', () => {
  test('each stored event is its canonical JSON, links to the one before, and hashes right', async () => {
    const { store } = await stores.open();
    const log = await AuditLog.open(store);
    const events = await log.write([
      { type: 'login', identity: { name: 'alice', kind: 'human', roles: ['dev'] }, details: { method: 'device-code', zeta: 1, alpha: [1] } },
      queryEvent(1, { message: 'has a message', result: { rows: 2, bytes: 10, ms: 1 } }),
      { type: 'cert.issued', details: { serial: 'ab', 'hash~': 1, hasH: 2, 'h a': 3 } },
    ]);
    expect(events[0]?.prevHash).toBe(GENESIS_HASH);
    const records = await store.searchAudit({});
    records.forEach((r, i) => {
      const e = events[i] as AuditEvent;
      expect(r.json).toBe(canonicalJson(e));
      expect(e.hash).toBe(eventHash(e.prevHash, e));
      if (i > 0) expect(e.prevHash).toBe(events[i - 1]?.hash);
    });
    expect(await log.verify()).toEqual({ ok: true, count: 3 });
  });

  test('a reopened log continues the chain from the store', async () => {
    const { store } = await stores.open();
    const first = await (await AuditLog.open(store)).write([queryEvent(1)]);
    const again = await AuditLog.open(store);
    const [next] = await again.write([queryEvent(2)]);
    expect(next?.prevHash).toBe(first[0]?.hash);
    expect(await again.verify()).toEqual({ ok: true, count: 2 });
  });

  test('an empty log verifies', async () => {
    const { store } = await stores.open();
    expect(await (await AuditLog.open(store)).verify()).toEqual({ ok: true, count: 0 });
  });
});

describe('verify catches tampering', () => {
  /** Ten events written through the log; seq 1..10 in the table are indexes 0..9. */
  async function tenEvents(): Promise<{ file: string; log: AuditLog; events: AuditEvent[] }> {
    const { store, file } = await stores.open();
    const log = await AuditLog.open(store);
    const events: AuditEvent[] = [];
    for (let i = 0; i < 10; i++) events.push(...(await log.write([queryEvent(i)])));
    expect(await log.verify()).toEqual({ ok: true, count: 10 });
    return { file, log, events };
  }

  test('an edited event', async () => {
    const { file, log, events } = await tenEvents();
    tamper(file, "UPDATE audit SET json = replace(json, 'SELECT 5', 'SELECT 50') WHERE seq = 6");
    const res = await log.verify();
    expect(res).toMatchObject({ ok: false, count: 5, broken: { index: 5, id: events[5]?.id } });
    expect(res.broken?.reason).toMatch(/edited/);
  });

  test('an edited event whose hash was recomputed breaks at the next one', async () => {
    const { file, log, events } = await tenEvents();
    const e = { ...(events[5] as AuditEvent), message: 'nothing to see' };
    e.hash = eventHash(e.prevHash, e);
    tamper(file, 'UPDATE audit SET json = ?, hash = ? WHERE seq = 6', canonicalJson(e), e.hash);
    const res = await log.verify();
    expect(res.broken?.index).toBe(6);
    expect(res.broken?.id).toBe(events[6]?.id);
  });

  test('an edited search column (the JSON untouched)', async () => {
    const { file, log } = await tenEvents();
    tamper(file, "UPDATE audit SET identity_name = 'someone-else' WHERE seq = 3");
    const res = await log.verify();
    expect(res.broken?.index).toBe(2);
    expect(res.broken?.reason).toMatch(/identityName/);
  });

  test('a deleted event', async () => {
    const { file, log, events } = await tenEvents();
    tamper(file, 'DELETE FROM audit WHERE seq = 4');
    const res = await log.verify();
    expect(res).toMatchObject({ ok: false, count: 3, broken: { index: 3, id: events[4]?.id } });
    expect(res.broken?.reason).toMatch(/deleted, inserted or reordered/);
  });

  test('a deleted first event', async () => {
    const { file, log } = await tenEvents();
    tamper(file, 'DELETE FROM audit WHERE seq = 1');
    expect((await log.verify()).broken?.index).toBe(0);
  });

  test('a swapped pair', async () => {
    const { file, log, events } = await tenEvents();
    // Move rows 3 and 4 to the end in swapped order (ids are unique, so delete and re-insert).
    const cols = 'id, time, type, code, sid, identity_name, db_service, task_id, task_reason, sql, prev_hash, hash, json';
    tamper(file, `CREATE TABLE moved AS SELECT * FROM audit WHERE seq IN (3, 4)`);
    tamper(file, 'DELETE FROM audit WHERE seq IN (3, 4)');
    tamper(file, `INSERT INTO audit (seq, ${cols}) SELECT 3, ${cols} FROM moved WHERE seq = 4`);
    tamper(file, `INSERT INTO audit (seq, ${cols}) SELECT 4, ${cols} FROM moved WHERE seq = 3`);
    const res = await log.verify();
    expect(res).toMatchObject({ ok: false, count: 2, broken: { index: 2, id: events[3]?.id } });
  });

  test('an inserted event, even one hashed correctly on its own', async () => {
    const { file, log, events } = await tenEvents();
    const forged: AuditEvent = { ...(events[4] as AuditEvent), id: '11111111-1111-4111-8111-111111111111', prevHash: events[4]?.hash as string };
    forged.hash = eventHash(forged.prevHash, forged);
    tamper(
      file,
      `INSERT INTO audit (id, time, type, code, sid, identity_name, db_service, task_id, task_reason, sql, prev_hash, hash, json)
       SELECT ?, time, type, code, sid, identity_name, db_service, task_id, task_reason, sql, ?, ?, ? FROM audit WHERE seq = 5`,
      forged.id, forged.prevHash, forged.hash, canonicalJson(forged),
    );
    const res = await log.verify();
    expect(res).toMatchObject({ ok: false, count: 10, broken: { index: 10, id: forged.id } });
  });

  test('a row that is not JSON', async () => {
    const { file, log } = await tenEvents();
    tamper(file, "UPDATE audit SET json = '{not json' WHERE seq = 8");
    const res = await log.verify();
    expect(res.broken?.index).toBe(7);
    expect(res.broken?.reason).toMatch(/not a valid JSON object/);
  });
});

describe('canonicalJson of frozen objects', () => {
  test('a deeply frozen object is encoded once and gives the same text after', () => {
    const identity = Object.freeze({ name: 'a', roles: Object.freeze(['x', 'y']) });
    const first = canonicalJson({ identity, n: 1 });
    expect(canonicalJson({ n: 2, identity })).toBe(first.replace('"n":1', '"n":2'));
  });

  test('a frozen object holding something that can still change is encoded afresh every time', () => {
    const roles = ['x'];
    const identity = Object.freeze({ name: 'a', roles });
    expect(canonicalJson(identity)).toBe('{"name":"a","roles":["x"]}');
    roles.push('y');
    expect(canonicalJson(identity)).toBe('{"name":"a","roles":["x","y"]}');
  });
});
