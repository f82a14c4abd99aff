// GatewaySession as a relay, with no database and no network: the test plays both the client and PostgreSQL
// (test/helpers/session-harness.ts) and pins what the session forwards, what it answers, and when.
import { afterEach, describe, expect, test } from 'vitest';
import { commandComplete, dataRow, errorResponse, parseMessage, queryMessage, readQuery, readyForQuery } from '../../src/pgwire/index.js';
import {
  bindComplete, bindMessage, executeMessage, parseComplete, sessionHarness, settle, syncMessage, type SessionHarness,
} from '../helpers/session-harness.js';
import { errorOf, typedMessage, type WireMessage } from '../helpers/wire.js';
import type { Duplex } from 'node:stream';
import { AuditError } from '../../src/audit/errors.js';
import { auditUnavailable, errorResponseOf } from '../../src/gateway/error-response.js';
import { GatewayError } from '../../src/gateway/errors.js';

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

describe('GatewaySession holds', () => {
  test('a held statement waits for its review; refused, it is replaced by the poison query and answered 42501 with the reason', async () => {
    const s = await start();
    // The demo agent's agent-safe rules hold a DELETE without WHERE; the harness's reviewer refuses everything.
    s.client.send(queryMessage('DELETE FROM orders'));
    expect(queryText(await s.backend.next())).toBe('AGENTDB DENIED');
    expect(s.audit.events.map((e) => [e.type, e.statement?.decision])).toEqual([['db.session.review', 'review'], ['db.session.denied', 'deny']]);
    expect(s.audit.events[1]!.message).toBe('no reviewer in the session harness');
    s.backend.send(errorResponse({ code: '42601', message: 'syntax error at or near "AGENTDB"' }), readyForQuery('I'));
    const [error] = await s.client.until('Z');
    expect(errorOf(error!)).toMatchObject({ code: '42501', message: expect.stringMatching(/no reviewer in the session harness/) });
  });
});

describe('GatewaySession ends', () => {
  const diskFull = () => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });

  test.each([
    ['a full disk', () => new AuditError('AGENTDB_ERR_AUDIT_WRITE_FAILED', 'the audit log could not be written', { cause: diskFull() }), '53100', 'ENOSPC: no space left on device, write'],
    ['any other write failure', () => new AuditError('AGENTDB_ERR_AUDIT_WRITE_FAILED', 'the audit log could not be written', { cause: new Error('database is locked') }), '58030', 'database is locked'],
    ['an error with no SQLSTATE', () => new Error('store went away'), '58030', 'store went away'],
  ])('when the audit log cannot store a statement (%s) it is not forwarded, the client gets the SQLSTATE, the session ends as audit-unavailable', async (_what, failure, sqlState, cause) => {
    const s = await start();
    s.audit.submit = (_events, onDurable) => onDurable(failure());
    s.client.send(queryMessage('SELECT id FROM customers WHERE id = 1'));
    const fatal = errorOf(await s.client.next());
    expect(fatal).toMatchObject({ severity: 'FATAL', code: sqlState, message: `audit log unavailable: statement not executed (${cause})` });
    expect(fatal.detail).toContain('AGENTDB_ERR_GATEWAY_AUDIT_UNAVAILABLE');
    expect(await s.ended).toBe('audit-unavailable');
    await settle();
    expect(s.backend.waiting).toBe(0);
  });

  test("PostgreSQL's FATAL before it closes the connection names the end: backend-closed: <SQLSTATE> <message>", async () => {
    const s = await start();
    s.backend.send(errorResponse({ severity: 'FATAL', code: '57P01', message: 'terminating connection due to administrator command' }));
    const passed = errorOf(await s.client.next());
    expect(passed).toMatchObject({ severity: 'FATAL', code: '57P01' });
    backendSocketOf(s).destroy();
    expect(await s.ended).toBe('backend-closed: 57P01 terminating connection due to administrator command');
  });

  test('a connection PostgreSQL closes without a word ends as backend-closed', async () => {
    const s = await start();
    // An ERROR is not why a connection ends: it does not name the end.
    s.backend.send(errorResponse({ code: '42P01', message: 'relation "x" does not exist' }), readyForQuery('I'));
    await s.client.until('Z');
    backendSocketOf(s).destroy();
    expect(await s.ended).toBe('backend-closed');
  });
});

describe('errorResponseOf', () => {
  test('an error with a SQLSTATE and an AGENTDB code keeps both; its detail and hint stay', () => {
    const err = new GatewayError('AGENTDB_ERR_GATEWAY_LOCKED', 'locked by ops: incident', '28000', 'since 10:00', 'ask ops');
    const fields = errorOf(wireMessage(errorResponseOf(err, 'FATAL')));
    expect(fields).toMatchObject({ severity: 'FATAL', code: '28000', message: 'locked by ops: incident', hint: 'ask ops' });
    expect(fields.detail).toBe('since 10:00\nagentdb error code AGENTDB_ERR_GATEWAY_LOCKED');
  });

  test('any other error is XX000 with the gateway internal code; a thrown non-error is told as text', () => {
    expect(errorOf(wireMessage(errorResponseOf(new TypeError('x is undefined'))))).toMatchObject({
      severity: 'ERROR', code: 'XX000', message: 'x is undefined', detail: 'agentdb error code AGENTDB_ERR_GATEWAY_INTERNAL',
    });
    expect(errorOf(wireMessage(errorResponseOf('plain text')))).toMatchObject({ code: 'XX000', message: 'plain text' });
    // A property that is not a SQLSTATE is not taken for one.
    expect(errorOf(wireMessage(errorResponseOf(Object.assign(new Error('odd'), { sqlState: 'nope', code: 'EPIPE' }))))).toMatchObject({
      code: 'XX000', detail: 'agentdb error code AGENTDB_ERR_GATEWAY_INTERNAL',
    });
  });

  test('an audit failure keeps the SQLSTATE the audit error carries, 58030 without one', () => {
    const full = new AuditError('AGENTDB_ERR_AUDIT_WRITE_FAILED', 'w', { cause: diskFullError() });
    expect(auditUnavailable(full)).toMatchObject({ code: 'AGENTDB_ERR_GATEWAY_AUDIT_UNAVAILABLE', sqlState: '53100', message: 'audit log unavailable: statement not executed (ENOSPC)' });
    expect(auditUnavailable(new Error('gone'))).toMatchObject({ sqlState: '58030', message: 'audit log unavailable: statement not executed (gone)' });
  });
});

const diskFullError = () => Object.assign(new Error('ENOSPC'), { code: 'ENOSPC' });
/** The session's own end of the backend pair: destroying it is PostgreSQL's socket closing under the session. */
const backendSocketOf = (s: SessionHarness) => (s.session as unknown as { backend: Duplex }).backend;
const wireMessage = (raw: Buffer): WireMessage => ({ type: String.fromCharCode(raw[0]!), raw });
