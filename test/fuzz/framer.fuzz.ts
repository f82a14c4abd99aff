// The frontend framer against a reference framing: whatever the bytes and wherever the stream is cut, the framer
// yields exactly the messages a whole-stream reading yields, in order, forwards exactly their bytes, and refuses
// a bad length word with a PgwireError of the reference's code, and nothing else.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { FrontendType, MessageFramer, PgwireError, PgwireErrorCode } from '../../src/pgwire/index.js';
import { DEFAULT_MAX_MESSAGE_LENGTH } from '../../src/pgwire/constants.js';
import { caught, checkTarget, cutsArb, mutate, mutationsArb, selected, splitAt, type FuzzCounter, type FuzzTarget } from './harness.js';

interface Reference {
  messages: Buffer[];
  /** the code the framer must throw, once it has seen the bad header */
  error?: string;
  /** bytes of the stream up to the end of the bad header (the framer throws once those have arrived) */
  errorAt?: number;
}

/** Reads the whole stream at once, as the protocol defines it. */
function referenceFraming(stream: Buffer, max: number): Reference {
  const messages: Buffer[] = [];
  let pos = 0;
  while (stream.length - pos >= 5) {
    const length = stream.readInt32BE(pos + 1);
    if (length < 4) return { messages, error: PgwireErrorCode.BAD_LENGTH, errorAt: pos + 5 };
    if (length > max) return { messages, error: PgwireErrorCode.MESSAGE_TOO_LARGE, errorAt: pos + 5 };
    if (pos + 1 + length > stream.length) break;
    messages.push(stream.subarray(pos, pos + 1 + length));
    pos += 1 + length;
  }
  return { messages };
}

const FRONTEND_TYPES = Object.values(FrontendType);

/**
 * A frontend message: mostly real type bytes, mostly short bodies, now and then one that spans many chunks.
 * The body is a shape (length and a fill byte) rather than random bytes: the framer reads only the header, and
 * cheap bodies let a run carry hundreds of messages.
 */
const messageArb = fc
  .record({
    type: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...FRONTEND_TYPES) }, { weight: 1, arbitrary: fc.nat({ max: 255 }) }),
    length: fc.oneof({ weight: 30, arbitrary: fc.nat({ max: 64 }) }, { weight: 4, arbitrary: fc.nat({ max: 600 }) }, { weight: 1, arbitrary: fc.integer({ min: 16 * 1024, max: 70 * 1024 }) }),
    fill: fc.nat({ max: 255 }),
  })
  .map(({ type, length, fill }) => {
    const m = Buffer.allocUnsafe(5 + length).fill(fill);
    m[0] = type;
    m.writeInt32BE(4 + length, 1);
    return m;
  });

const streamArb = (minLength: number) => fc.array(messageArb, { minLength, maxLength: 400, size: 'max' });

/** A maximum message length: the default, a random one, or one at a message's own length (-1, 0, +1): the edge. */
const maxArb = fc.oneof(
  { weight: 3, arbitrary: fc.constant(DEFAULT_MAX_MESSAGE_LENGTH) },
  { weight: 1, arbitrary: fc.integer({ min: 4, max: 2048 }) },
  { weight: 2, arbitrary: fc.tuple(fc.nat(), fc.integer({ min: -1, max: 1 })).map(([pick, delta]) => ({ pick, delta })) },
);
type MaxChoice = number | { pick: number; delta: number };

function maxFor(choice: MaxChoice, messages: Buffer[]): number {
  if (typeof choice === 'number') return choice;
  if (messages.length === 0) return DEFAULT_MAX_MESSAGE_LENGTH;
  return Math.max(4, messages[choice.pick % messages.length]!.readInt32BE(1) + choice.delta);
}

/** Feeds the chunks; returns the messages seen, the bytes forwarded and the first error (later feeds must repeat it). */
function frame(framer: MessageFramer, chunks: Buffer[], counter: FuzzCounter): { seen: Buffer[]; forwarded: Buffer; error: unknown; fedBeforeError: number } {
  const seen: Buffer[] = [];
  const forwarded: Buffer[] = [];
  let fed = 0;
  for (const chunk of chunks) {
    const before = seen.length;
    const error = caught(() => {
      const { buf, end } = framer.feed(chunk, (type, b, offset, length) => {
        if (b[offset] !== type) expect.fail('onMessage type differs from the byte at offset');
        seen.push(Buffer.from(b.subarray(offset, offset + length)));
      });
      forwarded.push(Buffer.from(buf.subarray(0, end)));
    });
    counter.messages += seen.length - before;
    if (error !== undefined) {
      // A broken framer stays broken: the same error again, whatever comes next.
      expect(caught(() => framer.feed(Buffer.from([0x51, 0, 0, 0, 4]), () => expect.fail('a broken framer delivered a message')))).toBe(error);
      return { seen, forwarded: Buffer.concat(forwarded), error, fedBeforeError: fed + chunk.length };
    }
    fed += chunk.length;
  }
  return { seen, forwarded: Buffer.concat(forwarded), error: undefined, fedBeforeError: fed };
}

function expectSameMessages(seen: Buffer[], expected: Buffer[]): void {
  if (seen.length !== expected.length) expect.fail(`framed ${seen.length} messages where the reference has ${expected.length}`);
  for (let i = 0; i < seen.length; i++) if (!seen[i]!.equals(expected[i]!)) expect.fail(`message ${i} differs from the reference`);
}

function checkAgainstReference(stream: Buffer, cuts: number[], max: number, counter: FuzzCounter): void {
  const ref = referenceFraming(stream, max);
  const framer = new MessageFramer(max);
  const { seen, forwarded, error, fedBeforeError } = frame(framer, splitAt(stream, cuts), counter);
  if (ref.error === undefined) {
    expect(error).toBeUndefined();
    expectSameMessages(seen, ref.messages);
    expect(forwarded.equals(Buffer.concat(ref.messages))).toBe(true);
    // What is held back is exactly the incomplete tail: nothing lost, nothing invented.
    expect(framer.pending).toBe(stream.length - forwarded.length);
    return;
  }
  expect(error).toBeInstanceOf(PgwireError);
  expect((error as PgwireError).code).toBe(ref.error);
  // It threw no earlier than the bad header had fully arrived, and delivered only messages before it.
  expect(fedBeforeError).toBeGreaterThanOrEqual(ref.errorAt!);
  expectSameMessages(seen, ref.messages.slice(0, seen.length));
}

const targets: Record<string, FuzzTarget> = {
  valid: { name: 'framer.valid-stream', ciRuns: 300, frontend: true },
  damaged: { name: 'framer.damaged-stream', ciRuns: 300, frontend: true },
  random: { name: 'framer.random-bytes', ciRuns: 300, frontend: true },
};

describe('fuzz: MessageFramer', () => {
  const counter: FuzzCounter = { messages: 0 };

  test.runIf(selected(targets.valid!.name))('well-formed frontend streams split anywhere frame as the reference does', () => {
    checkTarget(
      targets.valid!,
      counter,
      fc.property(streamArb(0), cutsArb(64 * 1024), maxArb, (messages, cuts, max) => {
        checkAgainstReference(Buffer.concat(messages), cuts, maxFor(max, messages), counter);
      }),
    );
  });

  test.runIf(selected(targets.damaged!.name))('damaged streams: the reference messages up to the damage, then its error code', () => {
    checkTarget(
      targets.damaged!,
      counter,
      fc.property(streamArb(1), mutationsArb, cutsArb(64 * 1024), maxArb, (messages, mutations, cuts, max) => {
        checkAgainstReference(mutate(Buffer.concat(messages), mutations), cuts, maxFor(max, messages), counter);
      }),
    );
  });

  test.runIf(selected(targets.random!.name))('random bytes: never anything but a PgwireError', () => {
    checkTarget(
      targets.random!,
      counter,
      fc.property(fc.uint8Array({ maxLength: 512 }), cutsArb(512), maxArb, (bytes, cuts, max) => {
        checkAgainstReference(Buffer.from(bytes), cuts, maxFor(max, []), counter);
      }),
    );
  });
});
