import { createHash } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { serialize } from 'pg-protocol';
import { Parser } from 'pg-protocol/dist/parser.js';
import {
  MessageFramer,
  PgwireError,
  PgwireErrorCode,
  SSL_ACCEPT,
  SSL_REFUSE,
  authenticationOk,
  backendKeyData,
  cancelRequest,
  commandComplete,
  dataRow,
  errorResponse,
  md5PasswordHash,
  negotiateProtocolVersion,
  noticeResponse,
  parameterStatus,
  passwordMessage,
  queryMessage,
  readAuthentication,
  readBackendKeyData,
  readBind,
  readCloseOrDescribe,
  readCommandComplete,
  readDataRow,
  readDataRowColumnCount,
  readErrorFields,
  readExecute,
  readNegotiateProtocolVersion,
  readParameterStatus,
  readParse,
  readQuery,
  readReadyForQuery,
  readRowDescription,
  readyForQuery,
  rowDescription,
  saslInitialResponse,
  saslResponse,
  sslRequest,
  startupMessage,
  terminateMessage,
  type FieldDescription,
} from '../../src/pgwire/index.js';
import { expectPgwireError } from '../helpers/pgwire-expect.js';

type Decoder<T> = (buf: Buffer, offset: number, length: number) => T;

/** Decodes a buffer holding exactly one message, placed at a non-zero offset to catch offset bugs. */
function decode<T>(decoder: Decoder<T>, message: Buffer): T {
  const padded = Buffer.concat([Buffer.from('junk'), message, Buffer.from([0x51, 0, 0, 0, 4])]);
  return decoder(padded, 4, message.length);
}

/** What pg-protocol's own backend parser makes of the bytes. */
function pgParse(message: Buffer): any[] {
  const out: any[] = [];
  new Parser().parse(message, (msg) => out.push(msg));
  return out;
}

/** A typed message from raw parts, written independently of our builders. */
function typed(type: string, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  const head = Buffer.alloc(5);
  head[0] = type.charCodeAt(0);
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}
const i32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(v);
  return b;
};
const cstr = (s: string) => Buffer.from(s + '\0');


describe('frontend decoders read what pg-protocol serializes', () => {
  test('Query', () => {
    expect(decode(readQuery, serialize.query('select 1'))).toBe('select 1');
    expect(decode(readQuery, serialize.query(''))).toBe('');
    expect(decode(readQuery, serialize.query("select 'żółw 🐢'"))).toBe("select 'żółw 🐢'");
    expect(decode(readQuery, queryMessage('select now()'))).toBe('select now()');
  });

  test('Parse', () => {
    expect(decode(readParse, serialize.parse({ name: 'stmt1', text: 'select $1, $2', types: [23, 4294967295] }))).toEqual({
      name: 'stmt1',
      sql: 'select $1, $2',
      paramTypes: [23, 4294967295],
    });
    expect(decode(readParse, serialize.parse({ text: 'select 1' }))).toEqual({ name: '', sql: 'select 1', paramTypes: [] });
  });

  test('Bind', () => {
    const bytes = serialize.bind({ portal: 'p1', statement: 'stmt1', values: ['42', null, Buffer.from([0, 1, 255]), ''], binary: true });
    const b = decode(readBind, bytes);
    expect(b.portal).toBe('p1');
    expect(b.statement).toBe('stmt1');
    expect(b.paramFormats).toEqual([0, 0, 1, 0]);
    expect(b.params.map((p) => (p === null ? null : [...p]))).toEqual([[0x34, 0x32], null, [0, 1, 255], []]);
    expect(b.resultFormats).toEqual([1]);
    expect(decode(readBind, serialize.bind())).toEqual({ portal: '', statement: '', paramFormats: [], params: [], resultFormats: [0] });
  });

  test('Execute', () => {
    expect(decode(readExecute, serialize.execute({ portal: 'p1', rows: 100 }))).toEqual({ portal: 'p1', maxRows: 100 });
    expect(decode(readExecute, serialize.execute())).toEqual({ portal: '', maxRows: 0 });
  });

  test('Close and Describe', () => {
    expect(decode(readCloseOrDescribe, serialize.close({ type: 'S', name: 'stmt1' }))).toEqual({ target: 'S', name: 'stmt1' });
    expect(decode(readCloseOrDescribe, serialize.close({ type: 'P' }))).toEqual({ target: 'P', name: '' });
    expect(decode(readCloseOrDescribe, serialize.describe({ type: 'P', name: 'p1' }))).toEqual({ target: 'P', name: 'p1' });
    expect(decode(readCloseOrDescribe, serialize.describe({ type: 'S' }))).toEqual({ target: 'S', name: '' });
  });
});

describe('frontend builders write what pg-protocol would', () => {
  test('byte for byte where both exist', () => {
    expect(queryMessage('select 1').equals(serialize.query('select 1'))).toBe(true);
    expect(passwordMessage('secret').equals(serialize.password('secret'))).toBe(true);
    expect(sslRequest().equals(serialize.requestSsl())).toBe(true);
    expect(terminateMessage().equals(serialize.end())).toBe(true);
    expect(terminateMessage()).not.toBe(terminateMessage());
    expect(saslResponse(Buffer.from('c=biws,r=abc')).equals(serialize.sendSCRAMClientFinalMessage('c=biws,r=abc'))).toBe(true);
    expect(saslInitialResponse('SCRAM-SHA-256', Buffer.from('n,,n=,r=xyz')).equals(serialize.sendSASLInitialResponseMessage('SCRAM-SHA-256', 'n,,n=,r=xyz'))).toBe(true);
    expect(cancelRequest(1234, i32(-559038737)).equals(serialize.cancel(1234, -559038737))).toBe(true);
    const withEncoding = { user: 'alice', database: 'db', client_encoding: 'UTF8' };
    expect(startupMessage(withEncoding).equals(serialize.startup({ user: 'alice', database: 'db' }))).toBe(true);
  });

  test('a NUL inside a string is refused, not truncated', () => {
    expectPgwireError(() => queryMessage('select 1\0; drop table x'), PgwireErrorCode.BAD_ARGUMENT);
    expectPgwireError(() => passwordMessage('a\0b'), PgwireErrorCode.BAD_ARGUMENT);
    expectPgwireError(() => startupMessage({ user: 'a\0b' }), PgwireErrorCode.BAD_ARGUMENT);
    expectPgwireError(() => startupMessage({ '': 'x' }), PgwireErrorCode.BAD_ARGUMENT);
    expectPgwireError(() => parameterStatus('a\0', 'b'), PgwireErrorCode.BAD_ARGUMENT);
    expectPgwireError(() => saslInitialResponse('SCRAM\0', Buffer.alloc(0)), PgwireErrorCode.BAD_ARGUMENT);
  });

  test('cancel keys and pids are checked', () => {
    expectPgwireError(() => cancelRequest(1, Buffer.alloc(3)), PgwireErrorCode.BAD_ARGUMENT);
    expectPgwireError(() => cancelRequest(1, Buffer.alloc(257)), PgwireErrorCode.BAD_ARGUMENT);
    expectPgwireError(() => cancelRequest(2 ** 31, Buffer.alloc(4)), PgwireErrorCode.BAD_ARGUMENT);
    expectPgwireError(() => backendKeyData(1.5, Buffer.alloc(4)), PgwireErrorCode.BAD_ARGUMENT);
    expectPgwireError(() => startupMessage({}, 70000), PgwireErrorCode.BAD_ARGUMENT);
    const c = cancelRequest(77, Buffer.alloc(32, 9));
    expect(c.length).toBe(12 + 32);
    expect(c.readInt32BE(0)).toBe(44);
  });

  test('md5PasswordHash follows PostgreSQL (md5 of the stored md5 hash and the salt)', () => {
    // The stored hash of user postgres / password postgres, as PostgreSQL keeps it in pg_authid.
    const stored = 'md53175bce1d3201d16594cebf9d7eb3f9d';
    expect('md5' + createHash('md5').update('postgrespostgres').digest('hex')).toBe(stored);
    const salt = Buffer.from([0x01, 0x02, 0x03, 0x04]);
    const expected = 'md5' + createHash('md5').update(stored.slice(3)).update(salt).digest('hex');
    expect(md5PasswordHash('postgres', 'postgres', salt)).toBe(expected);
    expect(md5PasswordHash('postgres', 'postgres', Buffer.from([9, 9, 9, 9]))).not.toBe(expected);
  });
});

describe('backend builders: pg-protocol Parser and our decoders agree', () => {
  test('ErrorResponse and NoticeResponse', () => {
    const bytes = errorResponse({ code: '42501', message: 'permission denied for table t', detail: 'policy rule r1', hint: 'ask for access' });
    const [parsed] = pgParse(bytes);
    expect(parsed.name).toBe('error');
    expect(parsed).toMatchObject({ severity: 'ERROR', code: '42501', message: 'permission denied for table t', detail: 'policy rule r1', hint: 'ask for access' });
    expect(decode(readErrorFields, bytes)).toEqual({
      severity: 'ERROR',
      localizedSeverity: 'ERROR',
      code: '42501',
      message: 'permission denied for table t',
      detail: 'policy rule r1',
      hint: 'ask for access',
    });

    const fatal = decode(readErrorFields, errorResponse({ severity: 'FATAL', code: '28000', message: 'no' }));
    expect(fatal).toEqual({ severity: 'FATAL', localizedSeverity: 'FATAL', code: '28000', message: 'no' });

    const notice = noticeResponse({ code: '01000', message: 'masked 3 columns' });
    const [parsedNotice] = pgParse(notice);
    expect(parsedNotice).toMatchObject({ name: 'notice', severity: 'NOTICE', code: '01000', message: 'masked 3 columns' });
    expect(decode(readErrorFields, notice)).toMatchObject({ severity: 'NOTICE', code: '01000', message: 'masked 3 columns' });
    expect(noticeResponse({ severity: 'WARNING', code: '01000', message: 'w' }).includes(Buffer.from('VWARNING\0'))).toBe(true);
  });

  test('an error report never fails to build: a NUL becomes U+FFFD', () => {
    const f = decode(readErrorFields, errorResponse({ code: '08P01', message: 'bad param a\0b' }));
    expect(f.message).toBe('bad param a\uFFFDb');
  });

  test('readErrorFields reads every documented field of a server-style error, and keeps unknown ones by letter', () => {
    const bytes = typed(
      'E',
      ...['SERREUR', 'VERROR', 'C23505', 'Mduplicate key', 'Ddetail', 'Hhint', 'P12', 'p3', 'qinternal', 'Wwhere', 'spublic', 'tusers', 'cemail', 'dtext', 'nusers_email_key', 'Fnbtinsert.c', 'L666', 'R_bt_check_unique', 'Zfuture'].map(cstr),
      Buffer.from([0]),
    );
    const f = decode(readErrorFields, bytes);
    expect(f).toEqual({
      severity: 'ERROR',
      localizedSeverity: 'ERREUR',
      code: '23505',
      message: 'duplicate key',
      detail: 'detail',
      hint: 'hint',
      position: '12',
      internalPosition: '3',
      internalQuery: 'internal',
      where: 'where',
      schema: 'public',
      table: 'users',
      column: 'email',
      dataType: 'text',
      constraint: 'users_email_key',
      file: 'nbtinsert.c',
      line: '666',
      routine: '_bt_check_unique',
      Z: 'future',
    });
    const [parsed] = pgParse(bytes);
    expect(parsed).toMatchObject({ code: f.code, message: f.message, constraint: f.constraint, routine: f.routine });
    // Only the localized severity (servers before 9.6): it becomes the severity.
    expect(decode(readErrorFields, typed('E', cstr('SFATAL'), cstr('C28P01'), cstr('Mbad'), Buffer.from([0]))).severity).toBe('FATAL');
  });

  test('a hostile field name cannot reach Object.prototype', () => {
    const f = decode(readErrorFields, typed('E', cstr('_x'), Buffer.from([0])));
    expect(f._).toBe('x');
    expect(({} as any)._).toBeUndefined();
  });

  test('ParameterStatus, BackendKeyData, ReadyForQuery, AuthenticationOk', () => {
    const ps = parameterStatus('server_version', '18.1');
    expect(pgParse(ps)[0]).toMatchObject({ name: 'parameterStatus', parameterName: 'server_version', parameterValue: '18.1' });
    expect(decode(readParameterStatus, ps)).toEqual({ name: 'server_version', value: '18.1' });

    const key4 = Buffer.from([0xde, 0xad, 0xbe, 0xef]);
    const k = backendKeyData(4242, key4);
    expect(pgParse(k)[0]).toMatchObject({ name: 'backendKeyData', processID: 4242, secretKey: key4.readInt32BE() });
    const decoded = decode(readBackendKeyData, k);
    expect(decoded.pid).toBe(4242);
    expect(decoded.secret.equals(key4)).toBe(true);
    const key32 = Buffer.alloc(32, 0xab);
    expect(decode(readBackendKeyData, backendKeyData(-5, key32)).secret.equals(key32)).toBe(true);
    const key256 = Buffer.alloc(256, 1);
    expect(decode(readBackendKeyData, backendKeyData(1, key256)).secret.length).toBe(256);
    expectPgwireError(() => backendKeyData(1, Buffer.alloc(257)), PgwireErrorCode.BAD_ARGUMENT);
    expectPgwireError(() => backendKeyData(1, Buffer.alloc(3)), PgwireErrorCode.BAD_ARGUMENT);

    for (const s of ['I', 'T', 'E'] as const) {
      expect(pgParse(readyForQuery(s))[0]).toMatchObject({ name: 'readyForQuery', status: s });
      expect(decode(readReadyForQuery, readyForQuery(s))).toBe(s);
    }
    expectPgwireError(() => readyForQuery('X' as 'I'), PgwireErrorCode.BAD_ARGUMENT);

    expect(pgParse(authenticationOk())[0]).toMatchObject({ name: 'authenticationOk' });
    expect(decode(readAuthentication, authenticationOk())).toEqual({ kind: 'ok' });
  });

  test('RowDescription, DataRow, CommandComplete', () => {
    const fields: FieldDescription[] = [
      { name: 'id', tableOid: 16384, columnAttr: 1, typeOid: 23, typeSize: 4, typeMod: -1, format: 0 },
      { name: 'email', tableOid: 4294967295, columnAttr: 2, typeOid: 25, typeSize: -1, typeMod: -1, format: 1 },
      { name: 'ünïcode', tableOid: 0, columnAttr: 0, typeOid: 1043, typeSize: -1, typeMod: 104, format: 0 },
    ];
    const t = rowDescription(fields);
    const [parsed] = pgParse(t);
    expect(parsed.fields.map((f: any) => [f.name, f.tableID, f.columnID, f.dataTypeID, f.dataTypeSize, f.dataTypeModifier, f.format])).toEqual([
      ['id', 16384, 1, 23, 4, -1, 'text'],
      ['email', 4294967295, 2, 25, -1, -1, 'binary'],
      ['ünïcode', 0, 0, 1043, -1, 104, 'text'],
    ]);
    expect(decode(readRowDescription, t)).toEqual(fields);
    expect(decode(readRowDescription, rowDescription([]))).toEqual([]);

    const values = [Buffer.from('1'), null, Buffer.from(''), Buffer.from('żółw')];
    const d = dataRow(values);
    expect(pgParse(d)[0].fields).toEqual(['1', null, '', 'żółw']);
    expect(decode(readDataRow, d)).toEqual(values);
    expect(decode(readDataRowColumnCount, d)).toBe(4);

    const c = commandComplete('INSERT 0 3');
    expect(pgParse(c)[0]).toMatchObject({ name: 'commandComplete', text: 'INSERT 0 3' });
    expect(decode(readCommandComplete, c)).toEqual({ tag: 'INSERT 0 3', rows: 3 });
  });

  test('NegotiateProtocolVersion round trip', () => {
    expect(decode(readNegotiateProtocolVersion, negotiateProtocolVersion(2, []))).toEqual({ newestMinor: 2, unrecognized: [] });
    expect(decode(readNegotiateProtocolVersion, negotiateProtocolVersion(0, ['_pq_.a', '_pq_.b']))).toEqual({
      newestMinor: 0,
      unrecognized: ['_pq_.a', '_pq_.b'],
    });
    // On the wire as PostgreSQL 18 writes it: the whole version 3.2, then the count and the names.
    expect(negotiateProtocolVersion(2, ['_pq_.x']).equals(typed('v', i32(196610), i32(1), cstr('_pq_.x')))).toBe(true);
    // The documentation's wording (a bare minor) is read too.
    expect(decode(readNegotiateProtocolVersion, typed('v', i32(2), i32(0)))).toEqual({ newestMinor: 2, unrecognized: [] });
    expectPgwireError(() => decode(readNegotiateProtocolVersion, typed('v', i32(4 << 16), i32(0))));
    expectPgwireError(() => negotiateProtocolVersion(-1, []), PgwireErrorCode.BAD_ARGUMENT);
  });

  test('SSL answers are one byte', () => {
    expect(SSL_ACCEPT.toString()).toBe('S');
    expect(SSL_REFUSE.toString()).toBe('N');
  });
});

describe('readAuthentication agrees with pg-protocol on every request', () => {
  const cases: [string, Buffer, unknown][] = [
    ['ok', typed('R', i32(0)), { kind: 'ok' }],
    ['cleartext', typed('R', i32(3)), { kind: 'cleartext' }],
    ['md5', typed('R', i32(5), Buffer.from([1, 2, 3, 4])), { kind: 'md5', salt: Buffer.from([1, 2, 3, 4]) }],
    ['sasl', typed('R', i32(10), cstr('SCRAM-SHA-256-PLUS'), cstr('SCRAM-SHA-256'), cstr('')), { kind: 'sasl', mechanisms: ['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256'] }],
    ['sasl-continue', typed('R', i32(11), Buffer.from('r=abc,s=c2FsdA==,i=4096')), { kind: 'sasl-continue', data: Buffer.from('r=abc,s=c2FsdA==,i=4096') }],
    ['sasl-final', typed('R', i32(12), Buffer.from('v=abc=')), { kind: 'sasl-final', data: Buffer.from('v=abc=') }],
  ];
  for (const [name, bytes, expected] of cases) {
    test(name, () => {
      const ours = decode(readAuthentication, bytes);
      expect(ours).toEqual(expected);
      const [theirs] = pgParse(bytes);
      if (ours.kind === 'sasl') expect(theirs.mechanisms).toEqual(ours.mechanisms);
      if (ours.kind === 'md5') expect(Buffer.from(theirs.salt).equals(ours.salt)).toBe(true);
      if (ours.kind === 'sasl-continue' || ours.kind === 'sasl-final') expect(theirs.data).toBe(ours.data.toString());
    });
  }
  test('other methods (GSS, SSPI) are reported by code', () => {
    expect(decode(readAuthentication, typed('R', i32(7)))).toEqual({ kind: 'other', code: 7 });
    expect(decode(readAuthentication, typed('R', i32(8), Buffer.from('gss data')))).toEqual({ kind: 'other', code: 8 });
  });
  test('copied data does not alias the chunk', () => {
    const bytes = typed('R', i32(11), Buffer.from('r=abc'));
    const req = decode(readAuthentication, bytes);
    bytes.fill(0);
    expect(req.kind === 'sasl-continue' && req.data.toString()).toBe('r=abc');
  });
});

describe('command tags', () => {
  const cases: [string, number | undefined][] = [
    ['SELECT 5', 5],
    ['INSERT 0 3', 3],
    ['UPDATE 2', 2],
    ['DELETE 4', 4],
    ['MERGE 1', 1],
    ['COPY 7', 7],
    ['FETCH 3', 3],
    ['MOVE 1', 1],
    ['SELECT 0', 0],
    ['SELECT 9007199254740991', 9007199254740991],
    ['CREATE TABLE', undefined],
    ['BEGIN', undefined],
    ['SET', undefined],
    ['DROP TABLE', undefined],
    ['SELECT', undefined],
    ['SELECT x', undefined],
    ['', undefined],
  ];
  for (const [tag, rows] of cases) {
    test(JSON.stringify(tag), () => {
      expect(decode(readCommandComplete, typed('C', cstr(tag)))).toEqual({ tag, rows });
    });
  }
});

describe('malformed messages give PgwireError, never a crash', () => {
  test('wrong type, wrong length word, outside the buffer', () => {
    const q = queryMessage('select 1');
    expect(expectPgwireError(() => readParse(q, 0, q.length)).message).toMatch(/expected type 'P', got 'Q'/);
    expectPgwireError(() => readQuery(q, 0, q.length - 1));
    expectPgwireError(() => readQuery(q, 1, q.length));
    expectPgwireError(() => readQuery(q, -1, q.length));
    expectPgwireError(() => readQuery(q, 0, 4));
    expectPgwireError(() => readErrorFields(q, 0, q.length));
    expectPgwireError(() => readCloseOrDescribe(q, 0, q.length));
  });

  test('layout errors', () => {
    const cases: [Decoder<unknown>, Buffer, RegExp][] = [
      [readQuery, typed('Q', Buffer.from('select 1')), /not NUL-terminated/],
      [readQuery, typed('Q', cstr('select 1'), Buffer.from('x')), /unexpected bytes/],
      [readParse, typed('P', cstr(''), cstr('select'), Buffer.from([0xff, 0xff])), /65535 parameter types announced/],
      [readBind, typed('B', cstr(''), cstr(''), Buffer.from([0, 0, 0, 1]), i32(-2), Buffer.from([0, 0])), /length -2/],
      [readBind, typed('B', cstr(''), cstr(''), Buffer.from([0, 0, 0, 1]), i32(100), Buffer.from('ab')), /needs 100 bytes/],
      [readBind, typed('B', cstr(''), cstr(''), Buffer.from([0, 2, 0, 0, 0, 0, 0, 1]), i32(-1), Buffer.from([0, 0])), /2 parameter formats for 1 parameters/],
      [readExecute, typed('E', cstr('p')), /row limit needs 4 bytes/],
      [readCloseOrDescribe, typed('D', Buffer.from('X'), cstr('')), /target must be 'S'/],
      [readRowDescription, typed('T', Buffer.from([0, 1]), cstr('abcdefghij'), Buffer.alloc(10)), /type size needs 2 bytes/],
      [readRowDescription, typed('T', Buffer.from([0xff, 0xff])), /65535 fields announced/],
      [readDataRow, typed('D', Buffer.from([0, 1]), i32(5), Buffer.from('ab')), /needs 5 bytes/],
      [readDataRow, typed('D', Buffer.from([0, 1]), i32(-7)), /length -7/],
      [readBackendKeyData, typed('K', i32(1), Buffer.from([1, 2])), /secret key of 2 bytes/],
      [readBackendKeyData, typed('K', i32(1), Buffer.alloc(257)), /secret key of 257 bytes/],
      [readReadyForQuery, typed('Z', Buffer.from('X')), /transaction status/],
      [readReadyForQuery, typed('Z'), /needs 1 bytes/],
      [readAuthentication, typed('R', i32(5), Buffer.from([1, 2])), /MD5 salt needs 4 bytes/],
      [readAuthentication, typed('R', i32(0), Buffer.from([1])), /unexpected bytes/],
      [readAuthentication, typed('R', i32(10), cstr('SCRAM-SHA-256')), /not NUL-terminated/],
      [readErrorFields, typed('E', cstr('Mmessage')), /field code needs 1 bytes/],
      [readNegotiateProtocolVersion, typed('v', i32(2), i32(-1)), /-1 options announced/],
      [readNegotiateProtocolVersion, typed('v', i32(2), i32(2), cstr('_pq_.a')), /not NUL-terminated/],
      [readParameterStatus, typed('S', cstr('name')), /not NUL-terminated/],
      [readCommandComplete, typed('C', Buffer.from('SELECT 1')), /not NUL-terminated/],
    ];
    for (const [decoder, bytes, message] of cases) {
      expect(expectPgwireError(() => decode(decoder, bytes)).message).toMatch(message);
    }
  });

  test('a string is never read past its own message into the next one', () => {
    // The Query has no NUL, the next message has one: a careless reader would run on into it.
    const two = Buffer.concat([typed('Q', Buffer.from('abc')), queryMessage('x')]);
    expectPgwireError(() => readQuery(two, 0, 8));
  });

  test('fuzz: corrupted and truncated messages of every kind', () => {
    let seed = 12345;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const seeds: [Decoder<unknown>, Buffer][] = [
      [readQuery, queryMessage('select 1')],
      [readParse, serialize.parse({ name: 'a', text: 'select $1', types: [23, 25] })],
      [readBind, serialize.bind({ values: ['1', null, Buffer.from([1])] })],
      [readExecute, serialize.execute({ portal: 'p', rows: 3 })],
      [readCloseOrDescribe, serialize.close({ type: 'S', name: 'a' })],
      [readErrorFields, errorResponse({ code: '42501', message: 'm', detail: 'd' })],
      [readRowDescription, rowDescription([{ name: 'a', tableOid: 1, columnAttr: 1, typeOid: 23, typeSize: 4, typeMod: -1, format: 0 }])],
      [readCommandComplete, commandComplete('SELECT 1')],
      [readParameterStatus, parameterStatus('a', 'b')],
      [readBackendKeyData, backendKeyData(1, Buffer.alloc(32, 7))],
      [readReadyForQuery, readyForQuery('I')],
      [readAuthentication, typed('R', i32(10), cstr('SCRAM-SHA-256'), cstr(''))],
      [readNegotiateProtocolVersion, negotiateProtocolVersion(2, ['_pq_.a'])],
      [readDataRow, dataRow([Buffer.from('abc'), null])],
    ];
    let errors = 0;
    for (const [decoder, original] of seeds) {
      for (let round = 0; round < 400; round++) {
        const m = Buffer.from(original);
        // Corrupt some body bytes, and sometimes cut the body short (fixing the length word so the
        // frame itself is consistent and the body layout is what fails).
        for (let k = rand(4) + 1; k > 0; k--) if (m.length > 5) m[5 + rand(m.length - 5)] = rand(256);
        let msg = m;
        if (rand(3) === 0) {
          msg = m.subarray(0, 5 + rand(m.length - 4));
          msg.writeInt32BE(msg.length - 1, 1);
        }
        try {
          decode(decoder, msg);
        } catch (err) {
          expect(err).toBeInstanceOf(PgwireError);
          errors++;
        }
      }
    }
    expect(errors).toBeGreaterThan(1000);
  });
});

describe('the framer and the decoders together', () => {
  test('a frontend stream from pg-protocol decodes message by message', () => {
    const stream = Buffer.concat([
      serialize.parse({ name: 's', text: 'select $1::int', types: [23] }),
      serialize.bind({ statement: 's', values: ['7'] }),
      serialize.describe({ type: 'P' }),
      serialize.execute(),
      serialize.sync(),
      serialize.query('select 2'),
    ]);
    const out: unknown[] = [];
    new MessageFramer().feed(stream, (type, buf, offset, length) => {
      switch (type) {
        case 0x50:
          out.push(readParse(buf, offset, length).sql);
          break;
        case 0x42:
          out.push(readBind(buf, offset, length).params[0]!.toString());
          break;
        case 0x44:
          out.push(readCloseOrDescribe(buf, offset, length).target);
          break;
        case 0x45:
          out.push(readExecute(buf, offset, length).maxRows);
          break;
        case 0x51:
          out.push(readQuery(buf, offset, length));
          break;
        default:
          out.push(String.fromCharCode(type));
      }
    });
    expect(out).toEqual(['select $1::int', '7', 'P', 0, 'S', 'select 2']);
  });
});
