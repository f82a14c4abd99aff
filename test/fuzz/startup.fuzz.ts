// The startup reader: sequences of SSLRequest, GSSENCRequest, CancelRequest (4- and 32-byte keys, any length
// 3.2 allows), 3.0/3.2 StartupMessages with random parameters, cut anywhere, read back exactly; damaged or random
// bytes and direct-TLS ClientHellos only ever give BAD_STARTUP_PACKET or UNSUPPORTED_PROTOCOL.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  CANCEL_REQUEST_CODE,
  GSSENC_REQUEST_CODE,
  PgwireError,
  PgwireErrorCode,
  SSL_REQUEST_CODE,
  StartupReader,
  isTlsHandshakeStart,
  type StartupPacket,
} from '../../src/pgwire/index.js';
import { caught, checkTarget, cutsArb, mutate, mutationsArb, selected, splitAt, type FuzzCounter, type FuzzTarget } from './harness.js';

/** An untyped packet from raw parts, written independently of the project's builders. */
function packet(code: number, body: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(8);
  head.writeInt32BE(8 + body.length, 0);
  head.writeUInt32BE(code >>> 0, 4);
  return Buffer.concat([head, body]);
}

type Case = { bytes: Buffer; expected: StartupPacket };

/** Names and values: no NUL (the protocol cannot carry one); "__proto__" and _pq_. options on purpose. */
const nameArb = fc.oneof(
  fc.string({ minLength: 1, maxLength: 16, unit: 'grapheme' }).filter((s) => !s.includes('\0')),
  fc.constantFrom('user', 'database', 'options', 'application_name', '__proto__', 'constructor', '_pq_.compression', '_pq_.x'),
);
const valueArb = fc.string({ maxLength: 40, unit: 'grapheme' }).filter((s) => !s.includes('\0'));

const startupArb: fc.Arbitrary<Case> = fc
  .record({ minor: fc.oneof(fc.constantFrom(0, 2), fc.nat({ max: 0xffff })), params: fc.array(fc.tuple(nameArb, valueArb), { maxLength: 8 }) })
  .map(({ minor, params }): Case => {
    const body = Buffer.concat([...params.flatMap(([n, v]) => [Buffer.from(n + '\0'), Buffer.from(v + '\0')]), Buffer.from([0])]);
    const expectedParams: Record<string, string> = {};
    const options: string[] = [];
    for (const [n, v] of params) {
      if (n.startsWith('_pq_.')) options.push(n);
      else Object.defineProperty(expectedParams, n, { value: v, enumerable: true, writable: true, configurable: true });
    }
    return { bytes: packet((3 << 16) | minor, body), expected: { kind: 'startup', major: 3, minor, params: expectedParams, unrecognizedProtocolOptions: options } };
  })
  // PostgreSQL's bound on a startup packet's body: longer ones are the garbage case.
  .filter((c) => c.bytes.length <= 10004);

const cancelArb: fc.Arbitrary<Case> = fc
  .record({ pid: fc.integer(), key: fc.oneof(fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ minLength: 4, maxLength: 256 })) })
  .map(({ pid, key }): Case => {
    const body = Buffer.alloc(4 + key.length);
    body.writeInt32BE(pid, 0);
    body.set(key, 4);
    return { bytes: packet(CANCEL_REQUEST_CODE, body), expected: { kind: 'cancel', pid, secret: Buffer.from(key) } };
  });

const packetArb: fc.Arbitrary<Case> = fc.oneof(
  fc.constant<Case>({ bytes: packet(SSL_REQUEST_CODE), expected: { kind: 'ssl' } }),
  fc.constant<Case>({ bytes: packet(GSSENC_REQUEST_CODE), expected: { kind: 'gssenc' } }),
  cancelArb,
  startupArb,
);

/** Feeds every chunk and drains the reader after each (one packet per feed() call). */
function readAll(chunks: Buffer[], counter: FuzzCounter): { packets: StartupPacket[]; error: unknown; reader: StartupReader } {
  const reader = new StartupReader();
  const packets: StartupPacket[] = [];
  for (const chunk of chunks) {
    const error = caught(() => {
      for (let p = reader.feed(chunk); p !== undefined; p = reader.feed(Buffer.alloc(0))) packets.push(p);
    });
    if (error !== undefined) {
      counter.messages += packets.length + 1;
      return { packets, error, reader };
    }
  }
  counter.messages += packets.length;
  return { packets, error: undefined, reader };
}

const GARBAGE_CODES: string[] = [PgwireErrorCode.BAD_STARTUP_PACKET, PgwireErrorCode.UNSUPPORTED_PROTOCOL];

function expectOnlyStartupErrors(chunks: Buffer[], counter: FuzzCounter): void {
  const { packets, error, reader } = readAll(chunks, counter);
  for (const p of packets) expect(['ssl', 'gssenc', 'cancel', 'startup']).toContain(p.kind);
  if (error === undefined) return;
  expect(error).toBeInstanceOf(PgwireError);
  expect(GARBAGE_CODES).toContain((error as PgwireError).code);
  // A reader that refused a packet refuses everything after it.
  expect(caught(() => reader.feed(packet(SSL_REQUEST_CODE)))).toBe(error);
}

const targets: Record<string, FuzzTarget> = {
  valid: { name: 'startup.valid-packets', ciRuns: 300, frontend: true },
  damaged: { name: 'startup.damaged-packets', ciRuns: 300, frontend: true },
  garbage: { name: 'startup.garbage', ciRuns: 300, frontend: true },
};

describe('fuzz: StartupReader', () => {
  const counter: FuzzCounter = { messages: 0 };

  test.runIf(selected(targets.valid!.name))('packet sequences cut anywhere are read back exactly, one per call', () => {
    checkTarget(
      targets.valid!,
      counter,
      fc.property(fc.array(packetArb, { minLength: 1, maxLength: 12 }), cutsArb(4096), (cases, cuts) => {
        const stream = Buffer.concat(cases.map((c) => c.bytes));
        const reader = new StartupReader();
        const packets: StartupPacket[] = [];
        for (const chunk of splitAt(stream, cuts)) {
          for (let p = reader.feed(chunk); p !== undefined; p = reader.feed(Buffer.alloc(0))) packets.push(p);
        }
        counter.messages += packets.length;
        expect(packets).toEqual(cases.map((c) => c.expected));
        expect(reader.pending).toBe(0);
      }),
    );
  });

  test.runIf(selected(targets.damaged!.name))('damaged packets: packets or a startup-packet error, nothing else', () => {
    checkTarget(
      targets.damaged!,
      counter,
      fc.property(fc.array(packetArb, { minLength: 1, maxLength: 6 }), mutationsArb, cutsArb(2048), (cases, mutations, cuts) => {
        expectOnlyStartupErrors(splitAt(mutate(Buffer.concat(cases.map((c) => c.bytes)), mutations), cuts), counter);
      }),
    );
  });

  test.runIf(selected(targets.garbage!.name))('random bytes and direct-TLS ClientHellos: only startup-packet errors', () => {
    const clientHello = fc.uint8Array({ minLength: 5, maxLength: 300 }).map((b) => Buffer.concat([Buffer.from([0x16, 0x03, 0x01]), Buffer.from(b)]));
    checkTarget(
      targets.garbage!,
      counter,
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 600 }).map((b) => Buffer.from(b)), clientHello), cutsArb(600), (bytes, cuts) => {
        if (bytes[0] === 0x16) expect(isTlsHandshakeStart(bytes)).toBe(true);
        expectOnlyStartupErrors(splitAt(bytes, cuts), counter);
      }),
    );
  });
});
