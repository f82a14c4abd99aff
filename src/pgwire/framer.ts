import { DEFAULT_MAX_MESSAGE_LENGTH } from './constants.js';
import { PgwireError, PgwireErrorCode, describeType } from './errors.js';

/** offset = index of the type byte; length = 1 + the message's int32 length (the whole message). */
export type OnMessage = (type: number, buf: Buffer, offset: number, length: number) => void;

const HEADER = 5; // type byte + int32 length
// First capacity for a message that spans chunks; grown by doubling up to the announced size, so a peer
// that announces 1 GiB and sends 5 bytes costs us 16 KiB, not 1 GiB.
const INITIAL_CARRY = 16 * 1024;

/**
 * Splits a byte stream into typed protocol messages (1 type byte + int32 length that counts itself).
 * Frontend and backend messages share this frame, so one class serves both directions.
 *
 * Buffers handed to onMessage (and returned) are never written to again by the framer, so a callback
 * may keep subarrays of them.
 */
export class MessageFramer {
  private readonly max: number;
  /** Bytes of a message that spans chunks; capacity never exceeds the message's size once known. */
  private carry: Buffer | undefined;
  private carryUsed = 0;
  /** Total size of the carried message; 0 while its header is still incomplete. */
  private carryNeed = 0;
  private broken: PgwireError | undefined;

  constructor(maxMessageLength: number = DEFAULT_MAX_MESSAGE_LENGTH) {
    if (!Number.isInteger(maxMessageLength) || maxMessageLength < 4 || maxMessageLength > DEFAULT_MAX_MESSAGE_LENGTH) {
      throw new PgwireError(
        PgwireErrorCode.BAD_ARGUMENT,
        `maxMessageLength must be an integer from 4 to ${DEFAULT_MAX_MESSAGE_LENGTH}, got ${maxMessageLength}`,
      );
    }
    this.max = maxMessageLength;
  }

  /** Bytes held back: the start of a message whose end has not arrived. */
  get pending(): number {
    return this.carryUsed;
  }

  /**
   * Calls onMessage for every complete message in (carried-over bytes + chunk), in order, and returns the
   * buffer holding exactly those messages in [0, end). Without carry-over `buf` is `chunk` itself.
   * After a throw (bad length, or a throwing onMessage) the stream position is lost: every later call
   * throws too, and the connection must be closed.
   */
  feed(chunk: Buffer, onMessage: OnMessage): { buf: Buffer; end: number } {
    if (this.broken !== undefined) throw this.broken;
    try {
      return this.carryUsed === 0 ? this.feedFresh(chunk, onMessage) : this.feedCarried(chunk, onMessage);
    } catch (err) {
      this.broken =
        err instanceof PgwireError
          ? err
          : new PgwireError(PgwireErrorCode.STREAM_BROKEN, 'the message stream was abandoned mid-message after an error in a message handler');
      throw err;
    }
  }

  /** The hot path: no carry, messages are read in place. */
  private feedFresh(chunk: Buffer, onMessage: OnMessage): { buf: Buffer; end: number } {
    const n = chunk.length;
    let pos = 0;
    while (n - pos >= HEADER) {
      const size = 1 + this.checkLength(chunk[pos]!, chunk.readInt32BE(pos + 1));
      if (size > n - pos) break;
      onMessage(chunk[pos]!, chunk, pos, size);
      pos += size;
    }
    this.keepTail(chunk, pos);
    return { buf: chunk, end: pos };
  }

  private feedCarried(chunk: Buffer, onMessage: OnMessage): { buf: Buffer; end: number } {
    let consumed = 0;
    if (this.carryNeed === 0) {
      // The header itself was split: complete it first to learn the message size.
      const take = Math.min(HEADER - this.carryUsed, chunk.length);
      chunk.copy(this.carry!, this.carryUsed, 0, take);
      this.carryUsed += take;
      consumed = take;
      if (this.carryUsed < HEADER) return { buf: chunk, end: 0 };
      this.carryNeed = 1 + this.checkLength(this.carry![0]!, this.carry!.readInt32BE(1));
    }
    const missing = this.carryNeed - this.carryUsed;
    const available = chunk.length - consumed;
    if (available < missing) {
      this.appendToCarry(chunk, consumed, chunk.length);
      return { buf: chunk, end: 0 };
    }

    const firstEnd = consumed + missing; // where the carried message ends inside chunk
    const end = this.completeEnd(chunk, firstEnd);
    const carry = this.carry!;
    const carried = this.carryUsed;
    let buf: Buffer;
    if (end === firstEnd && carry.length === this.carryNeed) {
      chunk.copy(carry, carried, consumed, firstEnd);
      buf = carry;
    } else {
      // One buffer must hold all complete messages contiguously so the caller can forward it in one write.
      buf = Buffer.allocUnsafe(carried + (end - consumed));
      carry.copy(buf, 0, 0, carried);
      chunk.copy(buf, carried, consumed, end);
    }
    this.carry = undefined;
    this.carryUsed = 0;
    this.carryNeed = 0;

    const total = buf.length;
    for (let pos = 0; pos < total; ) {
      const size = 1 + buf.readInt32BE(pos + 1);
      onMessage(buf[pos]!, buf, pos, size);
      pos += size;
    }
    this.keepTail(chunk, end);
    return { buf, end: total };
  }

  /** End of the last complete message in buf starting at `from`; validates every header it reads. */
  private completeEnd(buf: Buffer, from: number): number {
    const n = buf.length;
    let pos = from;
    while (n - pos >= HEADER) {
      const size = 1 + this.checkLength(buf[pos]!, buf.readInt32BE(pos + 1));
      if (size > n - pos) break;
      pos += size;
    }
    return pos;
  }

  /** Copies the partial message at chunk[from..] so the caller's chunk is not retained. */
  private keepTail(chunk: Buffer, from: number): void {
    const tail = chunk.length - from;
    if (tail === 0) return;
    if (tail < HEADER) {
      this.carry = Buffer.allocUnsafe(HEADER);
      this.carryNeed = 0;
    } else {
      // completeEnd/feedFresh already validated this header.
      this.carryNeed = 1 + chunk.readInt32BE(from + 1);
      this.carry = Buffer.allocUnsafe(Math.min(this.carryNeed, Math.max(tail, INITIAL_CARRY)));
    }
    chunk.copy(this.carry, 0, from);
    this.carryUsed = tail;
  }

  private appendToCarry(chunk: Buffer, from: number, to: number): void {
    const needed = this.carryUsed + (to - from);
    let carry = this.carry!;
    if (needed > carry.length) {
      const grown = Buffer.allocUnsafe(Math.min(this.carryNeed, Math.max(needed, carry.length * 2)));
      carry.copy(grown, 0, 0, this.carryUsed);
      carry = grown;
      this.carry = grown;
    }
    chunk.copy(carry, this.carryUsed, from, to);
    this.carryUsed = needed;
  }

  private checkLength(type: number, length: number): number {
    if (length < 4) {
      throw new PgwireError(
        PgwireErrorCode.BAD_LENGTH,
        `invalid message length ${length} for message type ${describeType(type)}: a length counts its own 4 bytes, so it is at least 4 (the stream is corrupt or not the PostgreSQL protocol)`,
      );
    }
    if (length > this.max) {
      throw new PgwireError(
        PgwireErrorCode.MESSAGE_TOO_LARGE,
        `message of type ${describeType(type)} announces ${length} bytes, more than the limit of ${this.max}`,
      );
    }
    return length;
  }
}

/**
 * Calls onMessage for every message in a buffer that holds only whole messages (what MessageFramer.feed
 * returned): a second look at a chunk without framing it again.
 */
export function forEachMessage(buf: Buffer, onMessage: OnMessage): void {
  let i = 0;
  while (i + 5 <= buf.length) {
    const length = 1 + buf.readInt32BE(i + 1);
    onMessage(buf[i]!, buf, i, length);
    i += length;
  }
}
