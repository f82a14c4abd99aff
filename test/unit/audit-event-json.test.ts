// The hand-ordered encoder of audit events (src/audit/event-json.ts) must give exactly the generic canonical
// JSON, or the chain it seals would not verify: checked on generated events of every shape, and on the edits
// verify must still catch.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { AuditLog, canonicalJson, eventHash, GENESIS_HASH, type AuditEvent } from '../../src/audit/index.js';
import { sealEvent } from '../../src/audit/chain.js';
import { eventMembers } from '../../src/audit/event-json.js';
import { queryEvent, tamper, tempStores } from './audit-fixtures.js';

const stores = tempStores();

// Text with what JSON must escape: quotes, backslashes, control characters, lone surrogates, non-ASCII.
const text = fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.constantFrom('', '"', '\\', '\u0000\n\t', '\ud800', 'é€😀', '</script>'));
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
const frozenOrNot = <T extends object>(arb: fc.Arbitrary<T>) => fc.tuple(arb, fc.boolean()).map(([v, f]) => (f ? Object.freeze(v) : v));

const statement = fc.record(
  {
    sql: text,
    params: fc.array(fc.option(text, { nil: null })),
    kind: text,
    tables: fc.array(text),
    decision: fc.constantFrom('allow' as const, 'deny' as const, 'review' as const),
    rule: text,
  },
  { requiredKeys: ['sql', 'decision'] },
);

const event = fc.record(
  {
    id: text,
    time: text,
    type: fc.constantFrom('db.session.query' as const, 'login' as const, 'cert.issued' as const),
    code: text,
    sid: maybe(text),
    identity: maybe(frozenOrNot(fc.record({ name: text, kind: fc.constantFrom('human' as const, 'agent' as const, 'bot' as const), roles: fc.array(text) }))),
    task: maybe(frozenOrNot(fc.record({ id: text, reason: text, requester: text }))),
    db: maybe(frozenOrNot(fc.record({ service: text, name: text, user: text }))),
    client: maybe(frozenOrNot(fc.record({ addr: text, app: maybe(text) }))),
    statement: maybe(statement),
    result: maybe(fc.record({ rows: fc.integer(), bytes: fc.integer(), ms: fc.double({ noNaN: true, noDefaultInfinity: true }), error: fc.record({ code: text, message: text }) }, { requiredKeys: [] })),
    message: maybe(text),
    details: maybe(fc.dictionary(text, fc.jsonValue())),
    prevHash: fc.oneof(fc.constant(GENESIS_HASH), fc.stringMatching(/^[0-9a-f]{64}$/)),
  },
  { requiredKeys: ['id', 'time', 'type', 'code', 'prevHash'] },
) as fc.Arbitrary<Omit<AuditEvent, 'hash'>>;

/** What the generic encoder makes of the same event: its stored text and its hash. */
function generic(e: Omit<AuditEvent, 'hash'>): { json: string; hash: string } {
  const hash = eventHash(e.prevHash, e);
  return { json: canonicalJson({ ...e, hash }), hash };
}

describe('the audit event encoder', () => {
  test('gives the generic canonical JSON and hash, byte for byte, for events of every shape', () => {
    fc.assert(
      fc.property(event, (e) => {
        const want = generic(structuredClone(e));
        expect(eventMembers(e)).toBeDefined();
        const { event: sealed, json } = sealEvent(e);
        expect(json).toBe(want.json);
        expect(sealed.hash).toBe(want.hash);
        // The stored text reads back as the event it was made from.
        expect(JSON.parse(json)).toEqual(JSON.parse(canonicalJson(sealed)));
      }),
      { numRuns: 1000 },
    );
  });

  test('anything outside the known shape goes through the generic encoder, with the same result', () => {
    const base = { id: 'e1', time: '2025-06-15T14:22:00.000Z', type: 'db.session.query' as const, code: 'ADB02I', prevHash: GENESIS_HASH };
    const odd: Omit<AuditEvent, 'hash'>[] = [
      { ...base, statement: { sql: 'SELECT 1', decision: 'allow', extra: { b: 1, a: 2 } } as never },
      { ...base, statement: Object.freeze({ sql: 'SELECT 1', decision: 'allow' as const, tables: Object.freeze(['t']) }) },
      { ...base, statement: { sql: 'SELECT 1', decision: 'allow', params: [1, 'x'] as never } },
      { ...base, statement: { sql: 'SELECT 1', decision: 'allow', toJSON: () => ({ z: 1 }) } as never },
      { ...base, identity: { name: 'a', kind: 'agent', roles: [], zzz: true } as never },
      { ...base, result: { rows: 1, ms: 0.25, error: { code: '42501', message: 'no', detail: 'x' } as never } },
      { ...base, unknownTopLevel: 1 } as never,
    ];
    for (const e of odd) {
      const want = generic(structuredClone({ ...e, statement: e.statement && { ...e.statement, toJSON: undefined } }) as Omit<AuditEvent, 'hash'>);
      const { json, event: sealed } = sealEvent(e);
      if (typeof (e.statement as { toJSON?: unknown } | undefined)?.toJSON === 'function') {
        // toJSON decides what is hashed, as in the generic encoder.
        expect(json).toBe(canonicalJson({ ...e, hash: sealed.hash }));
        expect(sealed.hash).toBe(eventHash(e.prevHash, e));
      } else {
        expect(json).toBe(want.json);
        expect(sealed.hash).toBe(want.hash);
      }
    }
  });

  test('verify catches an edit inside the hand-encoded statement (a parameter, a table, the SQL)', async () => {
    for (const edit of [
      "replace(json, '\"params\":[\"42\",null]', '\"params\":[\"43\",null]')",
      "replace(json, '\"tables\":[\"public.orders\"]', '\"tables\":[]')",
      "replace(json, 'SELECT 3', 'SELECT 4')",
    ]) {
      const { store, file } = await stores.open();
      const log = await AuditLog.open(store);
      for (let i = 0; i < 5; i++) {
        await log.write([queryEvent(i, { statement: { sql: `SELECT ${i}`, params: ['42', null], kind: 'select', tables: ['public.orders'], decision: 'allow' } })]);
      }
      expect(await log.verify()).toEqual({ ok: true, count: 5 });
      tamper(file, `UPDATE audit SET json = ${edit} WHERE seq = 4`);
      const res = await log.verify();
      expect(res, edit).toMatchObject({ ok: false, count: 3, broken: { index: 3 } });
      expect(res.broken?.reason).toMatch(/edited/);
      await log.close();
    }
  });
});
