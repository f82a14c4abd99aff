import { stripVTControlCharacters } from 'node:util';
import { describe, expect, test } from 'vitest';
import {
  formatSessionTime,
  readRecording,
  RecordingWriter,
  renderTranscript,
  type RecordedStatement,
  type SessionRecording,
} from '../../src/recording/index.js';
import type { Store } from '../../src/store/index.js';
import { header, tempStores } from './recording-fixtures.js';

const stores = tempStores();

/** Records a session through the writer and the store, and reads it back, as `agentdb play` would. */
async function recorded(
  store: Store,
  sid: string,
  statements: RecordedStatement[],
  end?: { endedAt: string; reason?: string },
): Promise<SessionRecording> {
  const w = new RecordingWriter(store, header(sid));
  for (const s of statements) w.statement(s);
  if (end !== undefined) await w.end(end);
  else await new Promise((r) => setTimeout(r, 300)); // let the timer flush; the session stays open
  const rec = await readRecording(store, sid);
  if (rec === undefined) throw new Error('nothing recorded');
  return rec;
}

describe('renderTranscript', () => {
  test("reads like tsh play's database sessions", async () => {
    const { store } = await stores.open();
    const rec = await recorded(
      store,
      'sid-1',
      [
        { t: 120, sql: "SELECT customer_id, order_date, status FROM orders WHERE region = 'us-east-1'", columns: ['customer_id', 'order_date', 'status'], rows: 48, tag: 'SELECT 48', ms: 1.2, decision: 'allow' },
        { t: 900, sql: "UPDATE orders SET status = 'processing' WHERE order_id = $1;", params: ['ord-8812'], error: { code: '42501', message: 'permission denied for table orders' }, ms: 0.8, decision: 'allow' },
      ],
      { endedAt: '2025-06-15T14:23:41.000Z' },
    );
    expect(renderTranscript(rec)).toBe(
      [
        'Session started to database "customers" as order_agent by order-processing-agent (task: check refunds) at Sun Jun 15 14:22 UTC',
        "customers=> SELECT customer_id, order_date, status FROM orders WHERE region = 'us-east-1';",
        'SUCCESS (48 rows affected) 1.2 ms',
        "customers=> UPDATE orders SET status = 'processing' WHERE order_id = $1;  -- params: ['ord-8812']",
        'ERROR: permission denied for table orders (SQLSTATE 42501) 0.8 ms',
        'Session ended at Sun Jun 15 14:23 UTC',
        '',
      ].join('\n'),
    );
  });

  test('denied statements, multi-line SQL, params with NULL and quotes, tags, one row, an end reason', async () => {
    const { store } = await stores.open();
    const rec = await recorded(
      store,
      'sid-2',
      [
        { t: 1, sql: 'DROP TABLE orders', error: { code: '42501', message: 'DDL is not allowed for agents' }, ms: 0, decision: 'deny', rule: 'no-ddl' },
        { t: 2, sql: 'DELETE FROM orders', error: { code: '42501', message: 'needs approval' }, ms: 0, decision: 'deny' },
        { t: 3, sql: 'SELECT id,\n       name\r\n  FROM customers\n WHERE id = $1 AND note = $2  \n', params: ["O'Brien", null], rows: 1, ms: 12.345 },
        { t: 4, sql: 'BEGIN', tag: 'BEGIN', ms: 0.04 },
        { t: 5, sql: 'COMMIT', ms: 0.1 },
      ],
      { endedAt: '2025-06-15T15:01:00.000Z', reason: 'certificate expired' },
    );
    expect(renderTranscript(rec)).toBe(
      [
        'Session started to database "customers" as order_agent by order-processing-agent (task: check refunds) at Sun Jun 15 14:22 UTC',
        'customers=> DROP TABLE orders;',
        'DENIED by policy (rule no-ddl): DDL is not allowed for agents',
        'customers=> DELETE FROM orders;',
        'DENIED by policy: needs approval',
        'customers=> SELECT id,',
        'customers->        name',
        'customers->   FROM customers',
        "customers->  WHERE id = $1 AND note = $2;  -- params: ['O''Brien', NULL]",
        'SUCCESS (1 row affected) 12.3 ms',
        'customers=> BEGIN;',
        'SUCCESS (BEGIN) 0.0 ms',
        'customers=> COMMIT;',
        'SUCCESS 0.1 ms',
        'Session ended at Sun Jun 15 15:01 UTC (certificate expired)',
        '',
      ].join('\n'),
    );
  });

  test('an unfinished session says it is still open', async () => {
    const { store } = await stores.open();
    const rec = await recorded(store, 'sid-3', [{ t: 1, sql: 'SELECT 1', rows: 1, ms: 0.3 }]);
    expect(rec.end).toBeUndefined();
    expect(renderTranscript(rec).split('\n').slice(-3)).toEqual(['SUCCESS (1 row affected) 0.3 ms', 'Session still open (no end recorded yet)', '']);
  });

  test('control characters and bidi overrides from recorded text are shown escaped, never sent to the terminal', () => {
    const rec: SessionRecording = {
      header: { ...header('sid-4'), identity: { name: 'evil\u001b[2Jagent', kind: 'agent', roles: [] } },
      statements: [{ t: 1, sql: "SELECT 'a\u001b]0;pwned\u0007' /* \u202e */", error: { code: 'XX000', message: 'bad\nline\rhere' }, ms: 1 }],
    };
    const text = renderTranscript(rec);
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f\u202e]/);
    expect(text).toContain('by evil\\x1b[2Jagent ');
    expect(text).toContain("customers=> SELECT 'a\\x1b]0;pwned\\x07' /* \\u202e */;");
    expect(text).toContain('ERROR: bad\\nline\\rhere (SQLSTATE XX000) 1.0 ms');
  });

  test('color adds ANSI styling and nothing else', async () => {
    const { store } = await stores.open();
    const rec = await recorded(
      store,
      'sid-5',
      [
        { t: 1, sql: 'SELECT 1', rows: 1, ms: 0.3 },
        { t: 2, sql: 'SELECT $1', params: ['x'], error: { code: '22P02', message: 'invalid input' }, ms: 0.2 },
        { t: 3, sql: 'DROP TABLE t', error: { code: '42501', message: 'no' }, ms: 0, decision: 'deny', rule: 'r' },
      ],
      { endedAt: '2025-06-15T14:30:00.000Z' },
    );
    const colored = renderTranscript(rec, { color: true });
    expect(colored).toContain('\u001b[');
    expect(stripVTControlCharacters(colored)).toBe(renderTranscript(rec));
    expect(renderTranscript(rec, { color: false })).toBe(renderTranscript(rec));
  });
});

describe('formatSessionTime', () => {
  test('day, month, date, hour and minute in UTC', () => {
    expect(formatSessionTime('2025-06-15T14:22:59.999Z')).toBe('Sun Jun 15 14:22 UTC');
    expect(formatSessionTime('2025-01-05T09:07:00Z')).toBe('Sun Jan 5 09:07 UTC');
    expect(formatSessionTime('2025-06-15T23:30:00-02:00')).toBe('Mon Jun 16 01:30 UTC');
    expect(formatSessionTime('not a time')).toBe('not a time');
  });
});
