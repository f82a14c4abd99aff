import { PgwireError, PgwireErrorCode, describeType } from './errors.js';

/**
 * Bounds-checked reading of one typed message's body, as located by the framer. Every read checks the
 * message's own end (not the buffer's), so a lying count can never read into the next message.
 */
export class MessageCursor {
  pos: number;
  readonly end: number;

  private constructor(
    readonly buf: Buffer,
    offset: number,
    length: number,
    /** Human name of the message, for error text. */
    readonly what: string,
  ) {
    this.pos = offset + 5;
    this.end = offset + length;
  }

  /** Checks that [offset, offset+length) is a whole message of one of the allowed types. */
  static open(buf: Buffer, offset: number, length: number, types: string, what: string): MessageCursor {
    if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 5 || offset + length > buf.length) {
      throw malformed(what, `offset ${offset} and length ${length} do not lie inside the ${buf.length}-byte buffer`);
    }
    const type = buf[offset]!;
    if (!types.includes(String.fromCharCode(type))) {
      throw malformed(what, `expected type ${[...types].map((t) => `'${t}'`).join(' or ')}, got ${describeType(type)}`);
    }
    const declared = buf.readInt32BE(offset + 1);
    if (declared + 1 !== length) {
      throw malformed(what, `the length word says ${declared} but the message spans ${length - 1} bytes after its type`);
    }
    return new MessageCursor(buf, offset, length, what);
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number, field: string): void {
    if (this.end - this.pos < n) {
      throw malformed(this.what, `${field} needs ${n} bytes but only ${this.end - this.pos} are left`);
    }
  }

  byte(field: string): number {
    this.need(1, field);
    return this.buf[this.pos++]!;
  }

  int16(field: string): number {
    this.need(2, field);
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  uint16(field: string): number {
    this.need(2, field);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  int32(field: string): number {
    this.need(4, field);
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  uint32(field: string): number {
    this.need(4, field);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** A NUL-terminated UTF-8 string that must end inside this message. */
  cstring(field: string): string {
    const nul = this.buf.indexOf(0, this.pos);
    if (nul < 0 || nul >= this.end) throw malformed(this.what, `${field} is not NUL-terminated inside the message`);
    const s = this.buf.toString('utf8', this.pos, nul);
    this.pos = nul + 1;
    return s;
  }

  /** n bytes as a view of the message (no copy): valid as long as the caller keeps the buffer. */
  view(n: number, field: string): Buffer {
    if (n < 0) throw malformed(this.what, `${field} has a negative length ${n}`);
    this.need(n, field);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** n bytes copied out, for values kept long after the chunk (keys, salts). */
  copy(n: number, field: string): Buffer<ArrayBuffer> {
    return Buffer.from(this.view(n, field));
  }

  /** Rejects trailing bytes, as PostgreSQL does: they mean the sender and we disagree on the layout. */
  done(): void {
    if (this.pos !== this.end) {
      throw malformed(this.what, `${this.end - this.pos} unexpected bytes after the last field`);
    }
  }
}

export function malformed(what: string, reason: string): PgwireError {
  return new PgwireError(PgwireErrorCode.MALFORMED_MESSAGE, `malformed ${what} message: ${reason}`);
}
