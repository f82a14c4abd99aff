import net from 'node:net';
import { describe, expect, test } from 'vitest';
import pg from 'pg';
import { serialize } from 'pg-protocol';
import {
  CANCEL_REQUEST_CODE,
  FrontendType,
  MessageFramer,
  SSL_REFUSE,
  authenticationOk,
  backendKeyData,
  commandComplete,
  dataRow,
  errorResponse,
  parameterStatus,
  readQuery,
  readyForQuery,
  rowDescription,
  GSSENC_REQUEST_CODE,
  PgwireError,
  PgwireErrorCode,
  SSL_REQUEST_CODE,
  StartupReader,
  cancelRequest,
  isTlsHandshakeStart,
  sslRequest,
  startupMessage,
  type StartupPacket,
} from '../../src/pgwire/index.js';
import { expectPgwireError } from '../helpers/pgwire-expect.js';

/** An untyped packet from raw parts, written independently of our builders. */
function packet(code: number, ...body: Buffer[]): Buffer {
  const rest = Buffer.concat(body);
  const head = Buffer.alloc(8);
  head.writeInt32BE(8 + rest.length, 0);
  head.writeInt32BE(code, 4);
  return Buffer.concat([head, rest]);
}
const cstr = (s: string) => Buffer.from(s + '\0');
// The first bytes of a real TLS 1.2/1.3 ClientHello record.
const CLIENT_HELLO = Buffer.from('16030100f4010000f00303' + 'ab'.repeat(32), 'hex');


describe('StartupReader', () => {
  test('SSLRequest with a TLS ClientHello in the same chunk: the hello is kept, not consumed', () => {
    const reader = new StartupReader();
    expect(reader.feed(Buffer.concat([sslRequest(), CLIENT_HELLO]))).toEqual({ kind: 'ssl' });
    expect(reader.pending).toBe(CLIENT_HELLO.length);
    const rest = reader.takeRemainder();
    expect(rest.equals(CLIENT_HELLO)).toBe(true);
    expect(reader.takeRemainder().length).toBe(0);
  });

  test('SSLRequest alone, then a startup in a later chunk', () => {
    const reader = new StartupReader();
    expect(reader.feed(serialize.requestSsl())).toEqual({ kind: 'ssl' });
    expect(reader.takeRemainder().length).toBe(0);
    const p = reader.feed(startupMessage({ user: 'alice', database: 'app' }));
    expect(p).toEqual({ kind: 'startup', major: 3, minor: 0, params: { user: 'alice', database: 'app' }, unrecognizedProtocolOptions: [] });
  });

  test('one packet per call; an empty feed returns the next buffered one', () => {
    const reader = new StartupReader();
    const two = Buffer.concat([packet(GSSENC_REQUEST_CODE), startupMessage({ user: 'u' }, 2)]);
    expect(reader.feed(two)).toEqual({ kind: 'gssenc' });
    const next = reader.feed(Buffer.alloc(0)) as Extract<StartupPacket, { kind: 'startup' }>;
    expect(next.kind).toBe('startup');
    expect(next.minor).toBe(2);
    expect(reader.feed(Buffer.alloc(0))).toBeUndefined();
  });

  test('startup with params from pg-protocol, fed one byte at a time', () => {
    const bytes = serialize.startup({ user: 'bob', database: 'shop', application_name: 'psql — ünicode', options: '-c search_path=x' });
    const reader = new StartupReader();
    let got: StartupPacket | undefined;
    for (let i = 0; i < bytes.length; i++) {
      got = reader.feed(bytes.subarray(i, i + 1));
      if (i < bytes.length - 1) expect(got).toBeUndefined();
    }
    expect(got).toEqual({
      kind: 'startup',
      major: 3,
      minor: 0,
      params: { user: 'bob', database: 'shop', application_name: 'psql — ünicode', options: '-c search_path=x', client_encoding: 'UTF8' },
      unrecognizedProtocolOptions: [],
    });
  });

  test('bytes after the startup packet stay for the framer', () => {
    const reader = new StartupReader();
    const query = serialize.query('select 1');
    expect(reader.feed(Buffer.concat([startupMessage({ user: 'u' }), query]))?.kind).toBe('startup');
    expect(reader.takeRemainder().equals(query)).toBe(true);
  });

  test('_pq_. options are protocol extensions, kept apart from the settings', () => {
    const p = new StartupReader().feed(startupMessage({ user: 'u', '_pq_.compression': 'on', '_pq_.x': '1' }, 2));
    expect(p).toEqual({ kind: 'startup', major: 3, minor: 2, params: { user: 'u' }, unrecognizedProtocolOptions: ['_pq_.compression', '_pq_.x'] });
  });

  test('a parameter named __proto__ stays a plain key', () => {
    const p = new StartupReader().feed(packet(196608, cstr('__proto__'), cstr('evil'), cstr('user'), cstr('u'), Buffer.from([0])));
    expect(p?.kind).toBe('startup');
    const params = (p as Extract<StartupPacket, { kind: 'startup' }>).params;
    expect(Object.getPrototypeOf(params)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(params, '__proto__')?.value).toBe('evil');
    expect(params.user).toBe('u');
  });

  test('a startup with no parameters and a newer minor', () => {
    expect(new StartupReader().feed(packet((3 << 16) | 9, Buffer.from([0])))).toEqual({
      kind: 'startup',
      major: 3,
      minor: 9,
      params: {},
      unrecognizedProtocolOptions: [],
    });
  });

  test('cancel request, protocol 3.0 (4-byte key from pg-protocol)', () => {
    const p = new StartupReader().feed(serialize.cancel(31337, -1));
    expect(p).toEqual({ kind: 'cancel', pid: 31337, secret: Buffer.from([0xff, 0xff, 0xff, 0xff]) });
  });

  test('cancel request, protocol 3.2 (32- and 256-byte keys)', () => {
    for (const len of [32, 256]) {
      const key = Buffer.alloc(len);
      for (let i = 0; i < len; i++) key[i] = i & 0xff;
      const bytes = cancelRequest(4242, key);
      const p = new StartupReader().feed(bytes);
      expect(p).toEqual({ kind: 'cancel', pid: 4242, secret: key });
      bytes.fill(0); // the secret was copied out of the chunk
      expect((p as Extract<StartupPacket, { kind: 'cancel' }>).secret.equals(key)).toBe(true);
    }
  });

  test('cancel keys shorter than 4 or longer than 256 bytes are refused', () => {
    for (const len of [0, 3, 257]) {
      expectPgwireError(() => new StartupReader().feed(packet(CANCEL_REQUEST_CODE, Buffer.alloc(4), Buffer.alloc(len))), PgwireErrorCode.BAD_STARTUP_PACKET, /cancel request/);
    }
  });

  test('the 10000-byte limit is PostgreSQL’s: on the body after the length word', () => {
    const body = 10000 - 4; // code + params
    const big = packet(196608, cstr('user'), cstr('x'.repeat(body - 5 - 1 - 1)), Buffer.from([0]));
    expect(big.length).toBe(10004);
    expect(new StartupReader().feed(big)?.kind).toBe('startup');
    const tooBig = Buffer.alloc(8);
    tooBig.writeInt32BE(10005, 0);
    // Refused from the header alone: no need to buffer 10 kB first.
    expectPgwireError(() => new StartupReader().feed(tooBig), PgwireErrorCode.BAD_STARTUP_PACKET, /invalid length of startup packet: 10005/);
    const huge = Buffer.alloc(4);
    huge.writeInt32BE(1_000_000, 0);
    expectPgwireError(() => new StartupReader().feed(huge), PgwireErrorCode.BAD_STARTUP_PACKET);
  });

  test('garbage is refused with a clear error', () => {
    expectPgwireError(() => new StartupReader().feed(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')), PgwireErrorCode.BAD_STARTUP_PACKET, /does not seem to speak the PostgreSQL protocol/);
    expectPgwireError(() => new StartupReader().feed(CLIENT_HELLO), PgwireErrorCode.BAD_STARTUP_PACKET, /TLS directly/);
    expectPgwireError(() => new StartupReader().feed(Buffer.from([0, 0, 0, 7, 0, 3, 0])), PgwireErrorCode.BAD_STARTUP_PACKET);
    expectPgwireError(() => new StartupReader().feed(Buffer.from([0xff, 0xff, 0xff, 0xff])), PgwireErrorCode.BAD_STARTUP_PACKET);
  });

  test('layout errors', () => {
    const cases: [Buffer, RegExp][] = [
      [packet(196608), /expected terminator as last byte/],
      [packet(196608, cstr('user'), cstr('u')), /expected terminator/],
      [packet(196608, cstr('user')), /has no value/],
      [packet(196608, cstr('user'), cstr('u'), Buffer.from([0, 0])), /expected terminator as last byte/],
      [packet(196608, cstr('user'), Buffer.from('u')), /has no value/],
      [packet(SSL_REQUEST_CODE, Buffer.alloc(4)), /SSLRequest must be 8 bytes/],
      [packet(GSSENC_REQUEST_CODE, Buffer.alloc(1)), /GSSENCRequest must be 8 bytes/],
    ];
    for (const [bytes, message] of cases) {
      expectPgwireError(() => new StartupReader().feed(bytes), PgwireErrorCode.BAD_STARTUP_PACKET, message);
    }
  });

  test('protocols other than 3 are not supported (0A000)', () => {
    const v2 = expectPgwireError(() => new StartupReader().feed(packet(2 << 16, Buffer.from([0]))), PgwireErrorCode.UNSUPPORTED_PROTOCOL, /unsupported frontend protocol 2\.0/);
    expect(v2.sqlState).toBe('0A000');
    expectPgwireError(() => new StartupReader().feed(packet((1234 << 16) | 5681)), PgwireErrorCode.UNSUPPORTED_PROTOCOL, /request code 1234\.5681/);
  });

  test('after an error the reader stays failed', () => {
    const reader = new StartupReader();
    expect(() => reader.feed(Buffer.from('GET / HTTP/1.1'))).toThrow(PgwireError);
    expect(() => reader.feed(startupMessage({ user: 'u' }))).toThrow(PgwireError);
  });

  test('isTlsHandshakeStart spots direct TLS', () => {
    expect(isTlsHandshakeStart(CLIENT_HELLO)).toBe(true);
    expect(isTlsHandshakeStart(sslRequest())).toBe(false);
    expect(isTlsHandshakeStart(Buffer.alloc(0))).toBe(false);
  });

  test('fuzz: random bytes give a packet, nothing yet, or a PgwireError', () => {
    let seed = 99;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const seeds = [startupMessage({ user: 'u', database: 'd' }), cancelRequest(1, Buffer.alloc(32)), sslRequest()];
    let errors = 0;
    for (let round = 0; round < 3000; round++) {
      const b = Buffer.from(seeds[round % seeds.length]!);
      for (let k = rand(3) + 1; k > 0; k--) b[rand(b.length)] = rand(256);
      try {
        new StartupReader().feed(b);
      } catch (err) {
        expect(err).toBeInstanceOf(PgwireError);
        errors++;
      }
    }
    expect(errors).toBeGreaterThan(100);
  });
});

describe('a real client (node-postgres) against a server made of pgwire parts', () => {
  test('startup, a query, and an ErrorResponse with its SQLSTATE', async () => {
    const seen: StartupPacket[] = [];
    const server = net.createServer((socket) => {
      const reader = new StartupReader();
      const framer = new MessageFramer();
      let started = false;
      const onMessage = (type: number, buf: Buffer, offset: number, length: number) => {
        if (type === FrontendType.Terminate) return void socket.end();
        if (type !== FrontendType.Query) return;
        const sql = readQuery(buf, offset, length);
        if (sql === 'select 1') {
          socket.write(
            Buffer.concat([
              rowDescription([{ name: 'one', tableOid: 0, columnAttr: 0, typeOid: 23, typeSize: 4, typeMod: -1, format: 0 }]),
              dataRow([Buffer.from('1')]),
              commandComplete('SELECT 1'),
              readyForQuery('I'),
            ]),
          );
        } else {
          socket.write(Buffer.concat([errorResponse({ code: '42501', message: 'denied by policy', hint: 'ask' }), readyForQuery('I')]));
        }
      };
      socket.on('data', (chunk: Buffer) => {
        if (started) return void framer.feed(chunk, onMessage);
        const p = reader.feed(chunk);
        if (!p) return;
        seen.push(p);
        if (p.kind === 'ssl') return void socket.write(SSL_REFUSE);
        if (p.kind !== 'startup') return void socket.end();
        started = true;
        socket.write(
          Buffer.concat([
            authenticationOk(),
            parameterStatus('server_version', '18.0'),
            parameterStatus('client_encoding', 'UTF8'),
            backendKeyData(1234, Buffer.from([1, 2, 3, 4])),
            readyForQuery('I'),
          ]),
        );
        framer.feed(reader.takeRemainder(), onMessage);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    const client = new pg.Client({ host: '127.0.0.1', port, user: 'alice', database: 'shop', application_name: 'agent-7' });
    try {
      await client.connect();
      expect((await client.query('select 1')).rows).toEqual([{ one: 1 }]);
      await expect(client.query('delete from customers')).rejects.toMatchObject({ code: '42501', message: 'denied by policy', hint: 'ask', severity: 'ERROR' });
    } finally {
      await client.end();
      server.close();
    }
    expect(seen).toEqual([
      {
        kind: 'startup',
        major: 3,
        minor: 0,
        params: { user: 'alice', database: 'shop', application_name: 'agent-7', client_encoding: 'UTF8' },
        unrecognizedProtocolOptions: [],
      },
    ]);
  });
});
