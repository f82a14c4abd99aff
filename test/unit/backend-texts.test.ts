// The pieces of "no masked value leaves through a backend text" and "every execution by name is audited":
// pgwire's report field reader and builder, the UTF-8 check of Query/Parse text, masking's report rewrite and
// its reads-masked test, and the names SQL statements give and take away.
import { describe, expect, test } from 'vitest';
import { serialize } from 'pg-protocol';
import { analyze, loadParser, type AnalyzedStatement } from '../../src/policy/index.js';
import {
  WITHHELD_ERROR, WITHHELD_NOTICE, analyzeMaskedFlow, compileMasking, maskReport, readsMasked, type ReportText,
} from '../../src/masking/index.js';
import { errorResponse, noticeResponse, queryTextBytes, readErrorFields, readReportFields, reportMessage, textIsUtf8 } from '../../src/pgwire/index.js';
import { nameEffect } from '../../src/gateway/sql-names.js';

await loadParser();

const policy = compileMasking([{ columns: { 'customers.ssn': 'redact', 'customers.email': 'email' }, detectors: ['email', 'card'] }], Buffer.alloc(32, 7));
const noDetectors = compileMasking([{ columns: { 'customers.ssn': 'redact' } }], Buffer.alloc(32, 7));

function stmt(sql: string): AnalyzedStatement {
  const a = analyze(sql);
  expect(a.error, sql).toBeUndefined();
  return a.statements[0]!;
}

/** An ErrorResponse as PostgreSQL writes one: fields in its order, some the builder never writes. */
function serverError(fields: [string, string][]): Buffer {
  return reportMessage('E', fields.map(([code, value]) => ({ code, value })));
}

describe('pgwire: report fields', () => {
  test('read in order with unknown codes, and built again byte for byte', () => {
    const fields: [string, string][] = [['S', 'ERROR'], ['V', 'ERROR'], ['C', 'P0001'], ['M', 'no luck'], ['D', 'detail'], ['W', 'PL/pgSQL function f() line 3'], ['q', 'SELECT 1'], ['p', '8'], ['F', 'pl_exec.c'], ['L', '3911'], ['R', 'exec_stmt_raise'], ['Z', 'a future field']];
    const msg = serverError(fields);
    const read = readReportFields(msg, 0, msg.length);
    expect(read.map((f) => [f.code, f.value])).toEqual(fields);
    expect(reportMessage('E', read).equals(msg)).toBe(true);
    expect(readErrorFields(msg, 0, msg.length)).toMatchObject({ severity: 'ERROR', code: 'P0001', message: 'no luck', detail: 'detail', where: 'PL/pgSQL function f() line 3', internalQuery: 'SELECT 1' });
  });

  test('the same bytes as the fixed builders for the fields they write, for errors and notices', () => {
    const e = errorResponse({ code: '42P01', message: 'relation "x" does not exist', hint: 'h' });
    expect(reportMessage('E', readReportFields(e, 0, e.length)).equals(e)).toBe(true);
    const n = noticeResponse({ code: '00000', message: 'note' });
    expect(reportMessage('N', readReportFields(n, 0, n.length)).equals(n)).toBe(true);
  });

  test('a field code that is not one ASCII character is refused', () => {
    expect(() => reportMessage('E', [{ code: 'MM', value: 'x' }])).toThrow(/one ASCII letter/);
    expect(() => reportMessage('E', [{ code: '\0', value: 'x' }])).toThrow(/one ASCII letter/);
  });
});

describe('pgwire: Query and Parse text as UTF-8', () => {
  const bad = Buffer.concat([Buffer.from("SELECT 'caf"), Buffer.from([0xe9]), Buffer.from("'")]);
  const query = (text: Buffer) => Buffer.concat([Buffer.from('Q'), int32(4 + text.length + 1), text, Buffer.from([0])]);
  const parse = (name: Buffer, text: Buffer) => {
    const body = Buffer.concat([name, Buffer.from([0]), text, Buffer.from([0]), Buffer.from([0, 1, 0, 0, 0, 0xff])]);
    return Buffer.concat([Buffer.from('P'), int32(4 + body.length), body]);
  };

  test('valid text passes, on both messages, whatever the parameter type bytes are', () => {
    const q = serialize.query('SELECT \'naïve ✓\'');
    expect(textIsUtf8(q, 0, q.length)).toBe(true);
    const p = parse(Buffer.from('s1'), Buffer.from('SELECT $1::text'));
    expect(textIsUtf8(p, 0, p.length)).toBe(true);
    expect(queryTextBytes(p, 0, p.length).toString()).toBe('SELECT $1::text');
  });

  test('invalid bytes in the text or the statement name are found; the text comes back as sent', () => {
    const q = query(bad);
    expect(textIsUtf8(q, 0, q.length)).toBe(false);
    expect(queryTextBytes(q, 0, q.length).equals(bad)).toBe(true);
    const p = parse(Buffer.from('s'), bad);
    expect(textIsUtf8(p, 0, p.length)).toBe(false);
    expect(queryTextBytes(p, 0, p.length).equals(bad)).toBe(true);
    const named = parse(Buffer.from([0x73, 0xff]), Buffer.from('SELECT 1'));
    expect(textIsUtf8(named, 0, named.length)).toBe(false);
    // Inside a longer buffer (the framer's chunk), offsets are honoured.
    const chunk = Buffer.concat([serialize.sync(), q, serialize.sync()]);
    expect(textIsUtf8(chunk, 5, q.length)).toBe(false);
    expect(queryTextBytes(chunk, 5, q.length).equals(bad)).toBe(true);
  });
});

describe('masking: reports', () => {
  const fields: ReportText[] = [
    { code: 'S', value: 'ERROR' }, { code: 'V', value: 'ERROR' }, { code: 'C', value: '22P02' },
    { code: 'M', value: 'invalid input syntax for type integer: "mail ann@example.com"' }, { code: 'D', value: 'card 4111 1111 1111 1111' },
    { code: 'P', value: '8' }, { code: 'W', value: 'SQL function "f"' }, { code: 'q', value: "SELECT 'ann@example.com'" }, { code: 'F', value: 'numutils.c' },
  ];

  test('withheld: severity, SQLSTATE, position and source location kept, the message replaced, every other text dropped', () => {
    expect(maskReport(fields, policy, true, true)).toEqual([
      { code: 'S', value: 'ERROR' }, { code: 'V', value: 'ERROR' }, { code: 'C', value: '22P02' }, { code: 'M', value: WITHHELD_ERROR }, { code: 'P', value: '8' }, { code: 'F', value: 'numutils.c' },
    ]);
    expect(maskReport(fields, noDetectors, true, false)?.find((f) => f.code === 'M')?.value).toBe(WITHHELD_NOTICE);
  });

  test('not withheld: every text field scanned by the detectors, the rest as it was', () => {
    const out = maskReport(fields, policy, false, true)!;
    expect(out.map((f) => f.code)).toEqual(fields.map((f) => f.code));
    expect(out.find((f) => f.code === 'M')?.value).toBe('invalid input syntax for type integer: "mail [email]"');
    expect(out.find((f) => f.code === 'D')?.value).toBe('card [card]');
    expect(out.find((f) => f.code === 'q')?.value).toBe("SELECT '[email]'");
    expect(out.find((f) => f.code === 'W')).toEqual({ code: 'W', value: 'SQL function "f"' });
  });

  test('unchanged: undefined, so the message is forwarded as it came', () => {
    expect(maskReport([{ code: 'M', value: 'relation "x" does not exist' }], policy, false, true)).toBeUndefined();
    expect(maskReport(fields, noDetectors, false, true)).toBeUndefined();
  });

  test('reads masked: a masked table read or written, a tainted output column, an unknown flow', () => {
    const reads = (sql: string) => {
      const s = stmt(sql);
      return readsMasked(analyzeMaskedFlow(s, policy), s, policy);
    };
    // Read by known code only: its errors of class 42 (the statement's own words) are kept, the rest withheld.
    expect(reads('SELECT id FROM customers')).toBe('known-code');
    expect(reads('SELECT ssn FROM customers WHERE id = 1')).toBe('known-code');
    expect(reads("UPDATE customers SET name = 'x' WHERE id = 1")).toBe(true);
    expect(reads('SELECT some_function(1)')).toBe(true);
    expect(reads('SELECT id, total FROM orders')).toBe(false);
    expect(reads('SELECT 1')).toBe(false);
    expect(readsMasked(undefined, { reads: [], writes: [] }, policy)).toBe(true);
  });

  test('known code keeps errors of the statement\'s own analysis (SQLSTATE class 42) and withholds the rest', () => {
    const undefinedColumn = [{ code: 'S', value: 'ERROR' }, { code: 'C', value: '42703' }, { code: 'M', value: 'column "no_such_column" does not exist' }];
    expect(maskReport(undefinedColumn, noDetectors, 'known-code', true)).toBeUndefined();
    expect(maskReport(undefinedColumn, noDetectors, true, true)?.find((f) => f.code === 'M')?.value).toBe(WITHHELD_ERROR);
    const runtime = [{ code: 'S', value: 'ERROR' }, { code: 'C', value: '22P02' }, { code: 'M', value: 'invalid input syntax for type integer: "123-45-6789"' }];
    expect(maskReport(runtime, noDetectors, 'known-code', true)?.find((f) => f.code === 'M')?.value).toBe(WITHHELD_ERROR);
  });
});

describe('names SQL statements give and take away', () => {
  test.each([
    ['PREPARE q AS UPDATE t SET a = 1', { kind: 'prepare', name: 'q' }],
    ['DECLARE c CURSOR FOR SELECT 1', { kind: 'declare', name: 'c', hold: false, binary: false }],
    ['DECLARE "C 2" BINARY CURSOR WITH HOLD FOR SELECT 1', { kind: 'declare', name: 'C 2', hold: true, binary: true }],
    ['DEALLOCATE q', { kind: 'deallocate', name: 'q' }],
    ['DEALLOCATE PREPARE ALL', { kind: 'deallocate', name: undefined }],
    ['CLOSE c', { kind: 'close', name: 'c' }],
    ['CLOSE ALL', { kind: 'close', name: undefined }],
    ['DISCARD ALL', { kind: 'discard-all' }],
  ])('%s', (sql, effect) => {
    expect(nameEffect(stmt(sql))).toEqual(effect);
  });

  test.each(['DISCARD PLANS', 'EXECUTE q', 'FETCH ALL FROM c', 'SELECT 1'])('%s: none', (sql) => {
    expect(nameEffect(stmt(sql))).toBeUndefined();
  });
});

function int32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
}
