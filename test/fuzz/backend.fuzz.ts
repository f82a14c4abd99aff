// The backend decoders against a hostile or broken PostgreSQL: well-formed messages decode to what was built,
// damaged or random bodies give back a value or a MALFORMED_MESSAGE PgwireError, never another exception.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { PgwireError, PgwireErrorCode, dataRow, errorResponse, parameterStatus, rowDescription } from '../../src/pgwire/index.js';
import {
  readAuthentication,
  readBackendKeyData,
  readCommandComplete,
  readDataRow,
  readErrorFields,
  readNegotiateProtocolVersion,
  readParameterStatus,
  readReadyForQuery,
  readReportFields,
  readRowDescription,
} from '../../src/pgwire/backend-decoders.js';
import { caught, checkTarget, mutate, mutationsArb, selected, type FuzzCounter, type FuzzTarget } from './harness.js';

type Decoder = (buf: Buffer, offset: number, length: number) => unknown;

/** Each decoder under the type byte it reads. */
const DECODERS: Record<string, Decoder[]> = {
  T: [readRowDescription],
  D: [readDataRow],
  E: [readErrorFields, readReportFields],
  N: [readErrorFields, readReportFields],
  S: [readParameterStatus],
  K: [readBackendKeyData],
  Z: [readReadyForQuery],
  R: [readAuthentication],
  v: [readNegotiateProtocolVersion],
  C: [readCommandComplete],
};
const TYPES = Object.keys(DECODERS);

const textArb = fc.string({ maxLength: 20, unit: 'grapheme' }).filter((s) => !s.includes('\0'));
const fieldArb = fc.record({
  name: textArb,
  tableOid: fc.nat({ max: 0xffffffff }),
  columnAttr: fc.integer({ min: -32768, max: 32767 }),
  typeOid: fc.nat({ max: 0xffffffff }),
  typeSize: fc.integer({ min: -32768, max: 32767 }),
  typeMod: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  format: fc.constantFrom(0, 1),
});
const valueArb = fc.oneof(fc.constant(null), fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b)));

/** A well-formed message, and what its decoder must return. */
const wellFormedArb = fc.oneof(
  fc.array(fieldArb, { maxLength: 8 }).map((f) => ({ msg: rowDescription(f), decode: readRowDescription, expected: f as unknown })),
  fc.array(valueArb, { maxLength: 10 }).map((v) => ({ msg: dataRow(v), decode: readDataRow, expected: v as unknown })),
  fc.tuple(textArb, textArb).map(([n, v]) => ({ msg: parameterStatus(n, v), decode: readParameterStatus, expected: { name: n, value: v } as unknown })),
  fc.record({ code: fc.stringMatching(/^[0-9A-Z]{5}$/), message: textArb, detail: textArb }).map((f) => ({
    msg: errorResponse(f),
    decode: readErrorFields,
    expected: expect.objectContaining({ code: f.code, message: f.message, detail: f.detail }) as unknown,
  })),
);

function expectValueOrMalformed(decode: Decoder, msg: Buffer, offset: number): void {
  const err = caught(() => decode(msg, offset, msg.length - offset));
  if (err === undefined) return;
  if (!(err instanceof PgwireError)) expect.fail(`a decoder threw ${String(err)}\n${err instanceof Error ? err.stack : ''}`);
  expect(err.code).toBe(PgwireErrorCode.MALFORMED_MESSAGE);
}

/** The message behind `pad` bytes of other data, as a framer's buffer has it, with its length word fixed. */
function inBuffer(type: string, body: Buffer, pad: number): Buffer {
  const out = Buffer.alloc(pad + 5 + body.length, 0x5a);
  out[pad] = type.charCodeAt(0);
  out.writeInt32BE(4 + body.length, pad + 1);
  body.copy(out, pad + 5);
  return out;
}

const targets: Record<string, FuzzTarget> = {
  wellFormed: { name: 'backend.well-formed', ciRuns: 300, frontend: false },
  damaged: { name: 'backend.damaged', ciRuns: 300, frontend: false },
  random: { name: 'backend.random-bodies', ciRuns: 500, frontend: false },
};

describe('fuzz: backend decoders', () => {
  const counter: FuzzCounter = { messages: 0 };

  test.runIf(selected(targets.wellFormed!.name))('well-formed messages decode to what was built', () => {
    checkTarget(
      targets.wellFormed!,
      counter,
      fc.property(wellFormedArb, ({ msg, decode, expected }) => {
        counter.messages++;
        const got = decode(msg, 0, msg.length);
        if (decode === readDataRow) expect((got as (Buffer | null)[]).map((v) => (v === null ? null : Buffer.from(v)))).toEqual(expected);
        else expect(got).toEqual(expected);
      }),
    );
  });

  test.runIf(selected(targets.damaged!.name))('damaged messages (length word kept consistent): a value or MALFORMED_MESSAGE', () => {
    checkTarget(
      targets.damaged!,
      counter,
      fc.property(wellFormedArb, mutationsArb, fc.nat({ max: 16 }), ({ msg }, mutations, pad) => {
        const type = String.fromCharCode(msg[0]!);
        const body = mutate(msg.subarray(5), mutations);
        for (const decode of DECODERS[type]!) {
          counter.messages++;
          expectValueOrMalformed(decode, inBuffer(type, body, pad), pad);
        }
      }),
    );
  });

  test.runIf(selected(targets.random!.name))('random bodies under every decoded type: a value or MALFORMED_MESSAGE', () => {
    const bodyArb = fc.oneof(
      fc.uint8Array({ maxLength: 64 }),
      // counts and lengths at their edges, where a decoder could allocate or loop on a hostile number
      fc.tuple(fc.constantFrom(0, 1, 0x7fff, 0xffff), fc.constantFrom(-2, -1, 0, 4, 0x7fffffff), fc.uint8Array({ maxLength: 16 })).map(([count, len, rest]) => {
        const b = Buffer.alloc(6);
        b.writeUInt16BE(count, 0);
        b.writeInt32BE(len, 2);
        return Buffer.concat([b, rest]);
      }),
    );
    checkTarget(
      targets.random!,
      counter,
      fc.property(fc.constantFrom(...TYPES), bodyArb, fc.nat({ max: 16 }), (type, body, pad) => {
        for (const decode of DECODERS[type]!) {
          counter.messages++;
          expectValueOrMalformed(decode, inBuffer(type, Buffer.from(body), pad), pad);
        }
      }),
    );
  });
});
