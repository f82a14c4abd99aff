import {
  CANCEL_REQUEST_CODE,
  GSSENC_REQUEST_CODE,
  MAX_CANCEL_KEY_LENGTH,
  MAX_STARTUP_PACKET_LENGTH,
  MIN_CANCEL_KEY_LENGTH,
  PROTOCOL_OPTION_PREFIX,
  SSL_REQUEST_CODE,
  SqlState,
} from './constants.js';
import { PgwireError, PgwireErrorCode } from './errors.js';

export type StartupPacket =
  | { kind: 'ssl' }
  | { kind: 'gssenc' }
  /** secret: 4 bytes from a 3.0 client, up to 256 from a 3.2 client. */
  | { kind: 'cancel'; pid: number; secret: Buffer<ArrayBuffer> }
  | {
      kind: 'startup';
      major: number;
      minor: number;
      /** Settings from the client (user, database, application_name, options, ...); never the _pq_. ones. */
      params: Record<string, string>;
      /** Names of the protocol options (starting with _pq_.) the client asked for; we know none. */
      unrecognizedProtocolOptions: string[];
    };

const EMPTY = Buffer.alloc(0);
const TLS_HANDSHAKE = 0x16;

/** True when a connection's first byte is a TLS handshake: PostgreSQL 17's direct TLS (sslnegotiation=direct). */
export function isTlsHandshakeStart(chunk: Buffer): boolean {
  return chunk.length > 0 && chunk[0] === TLS_HANDSHAKE;
}

/**
 * Reads the untyped packets of the startup phase (int32 length, int32 code, body).
 *
 * feed() returns at most one packet per call: an SSLRequest must be answered, and TLS started, before
 * any later byte is interpreted. Bytes after that packet stay inside; call feed(Buffer.alloc(0)) for
 * the next packet, or takeRemainder() to hand them on. After an SSLRequest they belong to the TLS
 * handshake and must be given to TLS, never read as plaintext protocol: that is what keeps a
 * man-in-the-middle from injecting plaintext commands ahead of the handshake.
 */
export class StartupReader {
  // Chunks of the packet being read, joined only once it is complete: a client trickling bytes costs
  // one copy per packet, not one per chunk.
  private parts: Buffer[] = [];
  private size = 0;
  private broken: PgwireError | undefined;

  feed(chunk: Buffer): StartupPacket | undefined {
    if (this.broken !== undefined) throw this.broken;
    if (chunk.length > 0) {
      this.parts.push(chunk);
      this.size += chunk.length;
    }
    if (this.size < 4) return undefined;
    try {
      if (this.parts[0]!.length < 4) this.join();
      const first = this.parts[0]!;
      const length = first.readInt32BE(0);
      checkLength(length, first[0]!);
      if (this.size < length) return undefined;
      const buf = this.join();
      const packet = parsePacket(buf, length);
      const rest = buf.subarray(length);
      this.parts = rest.length > 0 ? [rest] : [];
      this.size = rest.length;
      return packet;
    } catch (err) {
      this.broken = err as PgwireError;
      throw err;
    }
  }

  /** Bytes received after the last complete packet; the reader is empty afterwards. */
  takeRemainder(): Buffer {
    const rest = this.size === 0 ? EMPTY : this.join();
    this.parts = [];
    this.size = 0;
    return rest;
  }

  /** Bytes held (a partial packet, or bytes after a returned packet). */
  get pending(): number {
    return this.size;
  }

  private join(): Buffer {
    if (this.parts.length !== 1) this.parts = [Buffer.concat(this.parts, this.size)];
    return this.parts[0]!;
  }
}

function checkLength(length: number, firstByte: number): void {
  // PostgreSQL's rule: the body after the length word holds at least the 4-byte code and at most 10000 bytes.
  if (length - 4 >= 4 && length - 4 <= MAX_STARTUP_PACKET_LENGTH) return;
  let why = `invalid length of startup packet: ${length} bytes (a startup packet is 8 to ${MAX_STARTUP_PACKET_LENGTH + 4} bytes)`;
  if (firstByte === TLS_HANDSHAKE) why += '; the client seems to start TLS directly, without an SSLRequest';
  else if (firstByte >= 0x41 && firstByte <= 0x5a) why += '; the client does not seem to speak the PostgreSQL protocol';
  throw startupError(why);
}

function parsePacket(buf: Buffer, length: number): StartupPacket {
  const code = buf.readUInt32BE(4);
  switch (code) {
    case SSL_REQUEST_CODE:
    case GSSENC_REQUEST_CODE:
      if (length !== 8) throw startupError(`${code === SSL_REQUEST_CODE ? 'SSLRequest' : 'GSSENCRequest'} must be 8 bytes, got ${length}`);
      return { kind: code === SSL_REQUEST_CODE ? 'ssl' : 'gssenc' };
    case CANCEL_REQUEST_CODE: {
      const keyLength = length - 12;
      if (keyLength < MIN_CANCEL_KEY_LENGTH || keyLength > MAX_CANCEL_KEY_LENGTH) {
        throw startupError(`invalid length of cancel request packet: ${length} bytes (the key must be ${MIN_CANCEL_KEY_LENGTH} to ${MAX_CANCEL_KEY_LENGTH} bytes)`);
      }
      // Copied: the key is kept for matching while the chunk it came in is not.
      return { kind: 'cancel', pid: buf.readInt32BE(8), secret: Buffer.from(buf.subarray(12, length)) };
    }
  }
  const major = code >>> 16;
  const minor = code & 0xffff;
  if (major !== 3) {
    throw new PgwireError(
      PgwireErrorCode.UNSUPPORTED_PROTOCOL,
      major === 1234
        ? `unsupported startup request code ${major}.${minor}`
        : `unsupported frontend protocol ${major}.${minor}: only protocol 3 is supported`,
      SqlState.FEATURE_NOT_SUPPORTED,
    );
  }
  return readStartup(buf, length, minor);
}

function readStartup(buf: Buffer, length: number, minor: number): StartupPacket {
  const params: Record<string, string> = {};
  const unrecognizedProtocolOptions: string[] = [];
  let pos = 8;
  for (;;) {
    const nameEnd = buf.indexOf(0, pos);
    if (nameEnd < 0 || nameEnd >= length) throw startupError('invalid startup packet layout: expected terminator as last byte');
    if (nameEnd === pos) break; // the empty name that ends the list
    const valueEnd = buf.indexOf(0, nameEnd + 1);
    if (valueEnd < 0 || valueEnd >= length) throw startupError('invalid startup packet layout: a parameter has no value');
    const name = buf.toString('utf8', pos, nameEnd);
    const value = buf.toString('utf8', nameEnd + 1, valueEnd);
    if (name.startsWith(PROTOCOL_OPTION_PREFIX)) unrecognizedProtocolOptions.push(name);
    // defineProperty: a client-chosen name such as "__proto__" must stay a plain key.
    else Object.defineProperty(params, name, { value, enumerable: true, writable: true, configurable: true });
    pos = valueEnd + 1;
  }
  if (pos !== length - 1) throw startupError('invalid startup packet layout: expected terminator as last byte');
  return { kind: 'startup', major: 3, minor, params, unrecognizedProtocolOptions };
}

function startupError(message: string): PgwireError {
  return new PgwireError(PgwireErrorCode.BAD_STARTUP_PACKET, message);
}
