import { describe, expect, test } from 'vitest';
import { serialize } from 'pg-protocol';
import {
  MessageFramer,
  PgwireError,
  PgwireErrorCode,
  commandComplete,
  dataRow,
  errorResponse,
  readyForQuery,
  type OnMessage,
} from '../../src/pgwire/index.js';

/** A stream with every kind of frame: empty bodies, short and longer ones, both directions. */
function sampleStream(): { stream: Buffer; messages: Buffer[] } {
  const messages = [
    serialize.query('select 1'),
    serialize.sync(), // length 4: header only
    serialize.parse({ name: 's1', text: 'select $1::int', types: [23] }),
    serialize.bind({ statement: 's1', values: ['42', null, Buffer.from([1, 2, 3])] }),
    serialize.execute({ portal: '', rows: 5 }),
    dataRow([Buffer.from('x'.repeat(100)), null]),
    commandComplete('SELECT 1'),
    errorResponse({ code: '42501', message: 'denied' }),
    readyForQuery('I'),
    serialize.flush(),
  ].map((b) => Buffer.from(b));
  return { stream: Buffer.concat(messages), messages };
}

type Seen = { type: number; bytes: Buffer };

/** Feeds chunks and checks the framer's contract on every call; returns the messages and forwarded bytes. */
function run(framer: MessageFramer, chunks: Buffer[]): { seen: Seen[]; forwarded: Buffer } {
  const seen: Seen[] = [];
  const forwarded: Buffer[] = [];
  for (const chunk of chunks) {
    const inCall: { buf: Buffer; offset: number; length: number }[] = [];
    const onMessage: OnMessage = (type, buf, offset, length) => {
      expect(buf[offset]).toBe(type);
      seen.push({ type, bytes: Buffer.from(buf.subarray(offset, offset + length)) });
      inCall.push({ buf, offset, length });
    };
    const { buf, end } = framer.feed(chunk, onMessage);
    // The messages of one call lie back to back in [0, end) of the returned buffer.
    let expected = 0;
    for (const m of inCall) {
      expect(m.buf).toBe(buf);
      expect(m.offset).toBe(expected);
      expected += m.length;
    }
    expect(end).toBe(expected);
    forwarded.push(Buffer.from(buf.subarray(0, end)));
  }
  return { seen, forwarded: Buffer.concat(forwarded) };
}

describe('MessageFramer', () => {
  const { stream, messages } = sampleStream();

  test('one chunk holding many messages yields them in order, zero-copy', () => {
    const framer = new MessageFramer();
    const calls: number[] = [];
    const { buf, end } = framer.feed(stream, (type, b) => {
      expect(b).toBe(stream);
      calls.push(type);
    });
    expect(buf).toBe(stream);
    expect(end).toBe(stream.length);
    expect(calls).toEqual(messages.map((m) => m[0]));
    expect(framer.pending).toBe(0);
  });

  test('a split at every byte position gives the same messages and forwards every byte once', () => {
    for (let split = 0; split <= stream.length; split++) {
      const framer = new MessageFramer();
      const { seen, forwarded } = run(framer, [stream.subarray(0, split), stream.subarray(split)]);
      expect(seen.map((s) => s.bytes)).toEqual(messages);
      expect(forwarded.equals(stream)).toBe(true);
      expect(framer.pending).toBe(0);
    }
  });

  test('splits at every pair of positions (three chunks) give the same messages', () => {
    const small = Buffer.concat(messages.slice(0, 5));
    const expected = messages.slice(0, 5);
    for (let i = 0; i <= small.length; i++) {
      for (let j = i; j <= small.length; j++) {
        const framer = new MessageFramer();
        const { seen, forwarded } = run(framer, [small.subarray(0, i), small.subarray(i, j), small.subarray(j)]);
        expect(seen.length).toBe(expected.length);
        for (let k = 0; k < expected.length; k++) expect(seen[k]!.bytes.equals(expected[k]!)).toBe(true);
        expect(forwarded.equals(small)).toBe(true);
      }
    }
  });

  test('one byte at a time gives the same messages', () => {
    const chunks = [...stream].map((b) => Buffer.from([b]));
    const { seen, forwarded } = run(new MessageFramer(), chunks);
    expect(seen.map((s) => s.bytes)).toEqual(messages);
    expect(forwarded.equals(stream)).toBe(true);
  });

  test('without carry-over the returned buffer is the chunk itself', () => {
    const framer = new MessageFramer();
    const first = stream.subarray(0, 20); // ends inside the Parse message
    const r1 = framer.feed(first, () => {});
    expect(r1.buf).toBe(first);
    expect(r1.end).toBe(messages[0]!.length + messages[1]!.length);
    expect(framer.pending).toBe(20 - r1.end);
    // Carry-over that is still incomplete: nothing delivered.
    const r2 = framer.feed(stream.subarray(20, 21), () => expect.unreachable());
    expect(r2.end).toBe(0);
    expect(framer.pending).toBe(21 - r1.end);
  });

  test('10000 messages in one chunk', () => {
    const many = Buffer.concat(Array.from({ length: 10000 }, (_, i) => serialize.query(`select ${i}`)));
    let count = 0;
    let lastOffset = -1;
    const { buf, end } = new MessageFramer().feed(many, (type, _b, offset) => {
      expect(type).toBe(0x51);
      expect(offset).toBeGreaterThan(lastOffset);
      lastOffset = offset;
      count++;
    });
    expect(count).toBe(10000);
    expect(buf).toBe(many);
    expect(end).toBe(many.length);
  });

  test('a 1 MB message across 1000 chunks arrives once, intact, with neighbours', () => {
    const payload = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 7) & 0xff;
    const big = Buffer.from(serialize.copyData(payload));
    const all = Buffer.concat([messages[0]!, big, messages[1]!]);
    const chunkSize = Math.ceil(all.length / 1000);
    const chunks: Buffer[] = [];
    for (let p = 0; p < all.length; p += chunkSize) chunks.push(all.subarray(p, p + chunkSize));
    expect(chunks.length).toBe(1000);
    const framer = new MessageFramer();
    const { seen, forwarded } = run(framer, chunks);
    expect(seen.map((s) => s.type)).toEqual([0x51, 0x64, 0x53]);
    expect(seen[1]!.bytes.equals(big)).toBe(true);
    expect(forwarded.equals(all)).toBe(true);
    expect(framer.pending).toBe(0);
  });

  test('a message announced huge but not yet sent holds only the bytes received', () => {
    const framer = new MessageFramer();
    const header = Buffer.from([0x64, 0x3f, 0xff, 0xff, 0xff, 1, 2, 3]); // announces 1 GiB - 1
    framer.feed(header, () => expect.unreachable());
    expect(framer.pending).toBe(8);
    framer.feed(Buffer.alloc(100_000), () => expect.unreachable());
    expect(framer.pending).toBe(100_008);
  });

  test('buffers given out are never overwritten by later feeds', () => {
    const framer = new MessageFramer();
    const kept: Buffer[] = [];
    const copies: Buffer[] = [];
    const onMessage: OnMessage = (_t, buf, offset, length) => {
      kept.push(buf.subarray(offset, offset + length));
      copies.push(Buffer.from(buf.subarray(offset, offset + length)));
    };
    for (let p = 0; p < stream.length; p += 7) framer.feed(stream.subarray(p, p + 7), onMessage);
    expect(kept.length).toBe(messages.length);
    for (let i = 0; i < kept.length; i++) {
      expect(kept[i]!.equals(copies[i]!)).toBe(true);
      expect(kept[i]!.equals(messages[i]!)).toBe(true);
    }
  });

  describe('bad lengths', () => {
    const cases: [string, Buffer, string][] = [
      ['length 3', Buffer.from([0x51, 0, 0, 0, 3]), PgwireErrorCode.BAD_LENGTH],
      ['length 0', Buffer.from([0x51, 0, 0, 0, 0]), PgwireErrorCode.BAD_LENGTH],
      ['negative length', Buffer.from([0x51, 0xff, 0xff, 0xff, 0xff]), PgwireErrorCode.BAD_LENGTH],
      ['length over 1 GiB - 1', Buffer.from([0x51, 0x40, 0, 0, 0]), PgwireErrorCode.MESSAGE_TOO_LARGE],
    ];
    for (const [name, bytes, code] of cases) {
      test(`${name} throws PgwireError 08P01, whole or split`, () => {
        for (let split = 0; split <= bytes.length; split++) {
          const framer = new MessageFramer();
          const feedAll = () => {
            framer.feed(Buffer.from(serialize.sync()), () => {});
            framer.feed(bytes.subarray(0, split), () => {});
            framer.feed(bytes.subarray(split), () => {});
          };
          expect(feedAll).toThrow(PgwireError);
          try {
            framer.feed(Buffer.alloc(0), () => {});
            expect.unreachable();
          } catch (err) {
            // Sticky: the stream position is lost, so every later call fails the same way.
            expect(err).toBeInstanceOf(PgwireError);
            expect((err as PgwireError).code).toBe(code);
            expect((err as PgwireError).sqlState).toBe('08P01');
            expect((err as PgwireError).message).toMatch(/'Q'/);
          }
        }
      });
    }

    test('a custom limit applies to the length word', () => {
      const framer = new MessageFramer(100);
      const ok = Buffer.concat([Buffer.from([0x64, 0, 0, 0, 100]), Buffer.alloc(96)]);
      expect(framer.feed(ok, () => {}).end).toBe(101);
      expect(() => framer.feed(Buffer.from([0x64, 0, 0, 0, 101]), () => {})).toThrow(/limit of 100/);
    });

    test('a bad length after good messages in the same chunk still throws', () => {
      const bad = Buffer.concat([Buffer.from(serialize.sync()), Buffer.from([0x51, 0, 0, 0, 1])]);
      expect(() => new MessageFramer().feed(bad, () => {})).toThrow(PgwireError);
    });

    test('a bad length right after a carried message is caught', () => {
      const framer = new MessageFramer();
      const q = Buffer.from(serialize.query('select 1'));
      framer.feed(q.subarray(0, 3), () => {});
      expect(() => framer.feed(Buffer.concat([q.subarray(3), Buffer.from([0x51, 0, 0, 0, 2])]), () => {})).toThrow(
        /invalid message length 2/,
      );
    });
  });

  test('a throwing handler breaks the stream for good', () => {
    const framer = new MessageFramer();
    expect(() =>
      framer.feed(stream, () => {
        throw new Error('handler failed');
      }),
    ).toThrow('handler failed');
    expect(() => framer.feed(stream, () => {})).toThrow(expect.objectContaining({ code: PgwireErrorCode.STREAM_BROKEN }));
  });

  test('an invalid limit is refused', () => {
    expect(() => new MessageFramer(3)).toThrow(PgwireError);
    expect(() => new MessageFramer(2 ** 31)).toThrow(PgwireError);
    expect(() => new MessageFramer(1.5)).toThrow(PgwireError);
  });
});
