// GatewaySession as a relay, with no database and no network: the test plays both the client and PostgreSQL
// (test/helpers/session-harness.ts) and pins what the session forwards, what it answers, and when.
import { afterEach, describe, expect, test } from 'vitest';
import { commandComplete, dataRow, errorResponse, parseMessage, queryMessage, readQuery, readyForQuery } from '../../src/pgwire/index.js';
import {
  bindComplete, bindMessage, executeMessage, parseComplete, sessionHarness, settle, syncMessage, type SessionHarness,
} from '../helpers/session-harness.js';
import { errorOf, typedMessage, type WireMessage } from '../helpers/wire.js';

let h: SessionHarness | undefined;
afterEach(() => {
  h?.close();
  h = undefined;
});

const start = async (opts?: { holdAudit?: boolean }) => (h = await sessionHarness(opts));
const queryText = (m: WireMessage) => (expect(m.type).toBe('Q'), readQuery(m.raw, 0, m.raw.length));

describe('GatewaySession relay', () => {
  test('an allowed Query reaches the database only once its audit event is stored', async () => {
    const s = await start({ holdAudit: true });
    const sql = 'SELECT id, name FROM customers WHERE id = 1';
    s.client.send(queryMessage(sql));
    const [batch] = await s.audit.batches(1);
    expect(batch).toMatchObject([{ type: 'db.session.query', statement: { sql, decision: 'allow' } }]);
    await settle();
    expect(s.backend.waiting).toBe(0);
    s.audit.release();
    expect(queryText(await s.backend.next())).toBe(sql);
  });

  test('a denied Query is replaced by the poison query, and its syntax error by a 42501 that names the rule', async () => {
    const s = await start();
    s.client.send(queryMessage('DROP TABLE customers'));
    expect(queryText(await s.backend.next())).toBe('AGENTDB DENIED');
    expect(s.audit.events).toMatchObject([{ type: 'db.session.denied', statement: { sql: 'DROP TABLE customers', decision: 'deny' } }]);
    const rule = s.audit.events[0]!.statement!.rule!;
    expect(rule).toBeTruthy();
    s.backend.send(errorResponse({ code: '42601', message: 'syntax error at or near "AGENTDB"' }), readyForQuery('I'));
    const [error, ready] = await s.client.until('Z');
    const fields = errorOf(error!);
    expect(fields.code).toBe('42501');
    expect(fields.message).toContain(`rule ${rule}`);
    expect(fields.message).not.toContain('AGENTDB"');
    expect(ready!.type).toBe('Z');
    await settle();
    expect(s.recorded).toMatchObject([{ sql: 'DROP TABLE customers', decision: 'deny', rule, error: { code: '42501' } }]);
  });

  test('an extended-protocol result passes to the client byte for byte when nothing is masked', async () => {
    const s = await start();
    const sql = 'SELECT name FROM customers WHERE id = $1';
    const request = Buffer.concat([parseMessage('', sql), bindMessage('', '', ['7']), executeMessage(''), syncMessage()]);
    s.client.send(request);
    const forwarded = [await s.backend.next(), await s.backend.next(), await s.backend.next(), await s.backend.next()];
    expect(Buffer.concat(forwarded.map((m) => m.raw)).equals(request)).toBe(true);
    const answer = Buffer.concat([parseComplete(), bindComplete(), dataRow([Buffer.from('Ada')]), commandComplete('SELECT 1'), readyForQuery('I')]);
    s.backend.send(answer);
    const got = await s.client.until('Z');
    expect(Buffer.concat(got.map((m) => m.raw)).equals(answer)).toBe(true);
    await settle();
    expect(s.recorded).toMatchObject([{ sql, params: ['7'], rows: 1, tag: 'SELECT 1', decision: 'allow' }]);
  });

  test.each([
    ['a length shorter than its own header', typedMessage('Q', Buffer.from('SELECT 1\0'), 2)],
    ['a message type the gateway cannot judge', typedMessage('z', Buffer.alloc(0))],
  ])('a client message with %s ends the session with 08P01, and nothing reaches the database', async (_what, bad) => {
    const s = await start();
    s.client.send(bad);
    const fatal = errorOf(await s.client.next());
    expect(fatal).toMatchObject({ severity: 'FATAL', code: '08P01' });
    expect(await s.ended).toMatch(/invalid message from client/);
    await settle();
    expect(s.backend.waiting).toBe(0);
  });

  test('a SET of a forced setting runs as a placeholder SET, and the client is warned before its CommandComplete', async () => {
    const s = await start();
    s.client.send(queryMessage('SET statement_timeout = 0'));
    expect(queryText(await s.backend.next())).toBe("SET agentdb.ignored_setting = 'statement_timeout'");
    expect(s.audit.events).toMatchObject([
      { type: 'db.session.query', statement: { sql: 'SET statement_timeout = 0', decision: 'allow', rule: 'forced-setting' } },
    ]);
    s.backend.send(commandComplete('SET'), readyForQuery('I'));
    const [notice, done, ready] = await s.client.until('Z');
    expect(notice!.type).toBe('N');
    expect(errorOf(notice!)).toMatchObject({ severity: 'WARNING', code: '01000' });
    expect(errorOf(notice!).message).toMatch(/statement_timeout is set by policy.*forced value stays/);
    expect(done!.raw.equals(commandComplete('SET'))).toBe(true);
    expect(ready!.type).toBe('Z');
  });
});
