import { PgwireError, PgwireErrorCode } from './errors.js';

/**
 * Builds one message: typed (type byte + int32 length) or untyped (startup-phase packets: int32 length
 * only). Sizes are computed up front by the caller's size hint and grown when short, so a builder
 * normally allocates exactly once.
 */
export class MessageWriter {
  private buf: Buffer;
  private pos: number;
  private readonly header: number;

  constructor(
    private readonly type: number | undefined,
    sizeHint = 64,
  ) {
    this.header = type === undefined ? 4 : 5;
    this.buf = Buffer.allocUnsafe(this.header + sizeHint);
    this.pos = this.header;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.pos + n, this.buf.length * 2));
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
  }

  byte(v: number): this {
    this.ensure(1);
    this.buf[this.pos++] = v;
    return this;
  }

  int16(v: number): this {
    this.ensure(2);
    this.pos = this.buf.writeInt16BE(v, this.pos);
    return this;
  }

  int32(v: number): this {
    this.ensure(4);
    this.pos = this.buf.writeInt32BE(v, this.pos);
    return this;
  }

  /** A NUL-terminated string. A NUL inside would end the string early and desynchronise the reader. */
  cstring(s: string, field: string): this {
    assertNoNul(s, field);
    const n = Buffer.byteLength(s);
    this.ensure(n + 1);
    this.pos += this.buf.write(s, this.pos, n, 'utf8');
    this.buf[this.pos++] = 0;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  finish(): Buffer {
    const lengthAt = this.header - 4;
    if (this.type !== undefined) this.buf[0] = this.type;
    this.buf.writeInt32BE(this.pos - lengthAt, lengthAt);
    return this.pos === this.buf.length ? this.buf : this.buf.subarray(0, this.pos);
  }
}

export function assertNoNul(s: string, field: string): void {
  if (s.includes('\0')) {
    throw new PgwireError(PgwireErrorCode.BAD_ARGUMENT, `${field} contains a NUL character, which the PostgreSQL protocol cannot carry in a string`);
  }
}

/** UTF-8 size of a C string including its NUL: for exact size hints. */
export function cstringSize(s: string): number {
  return Buffer.byteLength(s) + 1;
}
