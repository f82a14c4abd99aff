import { CaError, CaErrorCode } from './errors.js';

// A minimal DER reader and writer for the hot path of issuance. @peculiar/x509 builds a full object
// model per certificate (about 1.3 ms each, far below the 2,000 certificates/s the control plane
// needs) and, through asn1js, cannot re-encode an OID arc wider than 56 bits, which our 2.25.<uuid>
// extension OID has. Only the handful of types a certificate needs are here.

export const TAG = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  oid: 0x06,
  utf8String: 0x0c,
  utcTime: 0x17,
  generalizedTime: 0x18,
  sequence: 0x30,
  set: 0x31,
} as const;

/** Context-specific, constructed: `[n]` EXPLICIT or an IMPLICIT SET/SEQUENCE. */
export function contextTag(n: number): number {
  return 0xa0 | n;
}

// ---- writing ----

function lengthBytes(length: number): number[] {
  if (length < 0x80) return [length];
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
  return [0x80 | bytes.length, ...bytes];
}

export function tlv(tag: number, ...contents: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of contents) length += part.length;
  const header = [tag, ...lengthBytes(length)];
  const out = new Uint8Array(header.length + length);
  out.set(header, 0);
  let offset = header.length;
  for (const part of contents) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

export function sequence(...contents: Uint8Array[]): Uint8Array {
  return tlv(TAG.sequence, ...contents);
}

/** A non-negative INTEGER from big-endian magnitude bytes: leading zeros dropped, a sign byte added when needed. */
export function unsignedInteger(magnitude: Uint8Array): Uint8Array {
  let first = 0;
  while (first < magnitude.length - 1 && magnitude[first] === 0) first++;
  const trimmed = magnitude.subarray(first);
  const needsSignByte = trimmed.length === 0 || (trimmed[0] as number) >= 0x80;
  return needsSignByte ? tlv(TAG.integer, new Uint8Array([0]), trimmed) : tlv(TAG.integer, trimmed);
}

function base128(value: bigint): number[] {
  const out = [Number(value & 0x7fn)];
  for (let rest = value >> 7n; rest > 0n; rest >>= 7n) out.unshift(Number(rest & 0x7fn) | 0x80);
  return out;
}

/** An OBJECT IDENTIFIER; arcs may be of any size. */
export function objectIdentifier(dotted: string): Uint8Array {
  if (!/^[0-2](\.(0|[1-9][0-9]*))+$/.test(dotted)) throw new Error(`not an OID: ${dotted}`);
  const arcs = dotted.split('.').map((arc) => BigInt(arc));
  const [first, second, ...rest] = arcs as [bigint, bigint, ...bigint[]];
  const bytes = [...base128(first * 40n + second), ...rest.flatMap(base128)];
  return tlv(TAG.oid, new Uint8Array(bytes));
}

export function utf8String(text: string): Uint8Array {
  return tlv(TAG.utf8String, Buffer.from(text, 'utf8'));
}

export function octetString(bytes: Uint8Array): Uint8Array {
  return tlv(TAG.octetString, bytes);
}

/** A BIT STRING holding whole bytes (no unused bits), as signatures and keys are. */
export function bitString(bytes: Uint8Array): Uint8Array {
  return tlv(TAG.bitString, new Uint8Array([0]), bytes);
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050; always UTC, whole seconds. */
export function time(date: Date): Uint8Array {
  const year = date.getUTCFullYear();
  const rest = `${pad(date.getUTCMonth() + 1)}${pad(date.getUTCDate())}${pad(date.getUTCHours())}${pad(date.getUTCMinutes())}${pad(date.getUTCSeconds())}Z`;
  if (year >= 1950 && year < 2050) return tlv(TAG.utcTime, Buffer.from(`${pad(year % 100)}${rest}`, 'latin1'));
  return tlv(TAG.generalizedTime, Buffer.from(`${pad(year, 4)}${rest}`, 'latin1'));
}

// ---- reading ----

export interface Tlv {
  tag: number;
  /** Offset of the tag byte. */
  start: number;
  /** Offset of the first content byte. */
  contentStart: number;
  /** Offset just past the content. */
  end: number;
}

function malformed(why: string): CaError {
  return new CaError(CaErrorCode.BAD_DER, `malformed DER: ${why}`);
}

/** One TLV at `offset`, strictly DER: low tag numbers, definite minimal lengths, inside `limit`. */
export function readTlv(der: Uint8Array, offset: number, limit: number = der.length): Tlv {
  if (offset + 2 > limit) throw malformed('truncated header');
  const tag = der[offset] as number;
  if ((tag & 0x1f) === 0x1f) throw malformed('high tag numbers are not used here');
  const first = der[offset + 1] as number;
  let length: number;
  let contentStart: number;
  if (first < 0x80) {
    length = first;
    contentStart = offset + 2;
  } else {
    const count = first & 0x7f;
    if (count === 0) throw malformed('indefinite length');
    if (count > 4) throw malformed('length too large');
    if (offset + 2 + count > limit) throw malformed('truncated length');
    if (der[offset + 2] === 0) throw malformed('length is not minimal');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + (der[offset + 2 + i] as number);
    if (length < 0x80) throw malformed('length is not minimal');
    contentStart = offset + 2 + count;
  }
  const end = contentStart + length;
  if (end > limit) throw malformed('content runs past its container');
  return { tag, start: offset, contentStart, end };
}

/** The TLV that must make up all of `der`, with the expected tag. */
export function readWhole(der: Uint8Array, tag: number): Tlv {
  const whole = readTlv(der, 0);
  if (whole.tag !== tag) throw malformed(`expected tag 0x${tag.toString(16)}, found 0x${whole.tag.toString(16)}`);
  if (whole.end !== der.length) throw malformed('trailing bytes');
  return whole;
}

/** The TLVs that exactly fill a constructed value. */
export function readChildren(der: Uint8Array, parent: Tlv): Tlv[] {
  const children: Tlv[] = [];
  for (let offset = parent.contentStart; offset < parent.end; ) {
    const child = readTlv(der, offset, parent.end);
    children.push(child);
    offset = child.end;
  }
  return children;
}

export function contentOf(der: Uint8Array, node: Tlv): Uint8Array {
  return der.subarray(node.contentStart, node.end);
}

export function bytesOf(der: Uint8Array, node: Tlv): Uint8Array {
  return der.subarray(node.start, node.end);
}

/** The bytes of a BIT STRING that has no unused bits. */
export function bitStringBytes(der: Uint8Array, node: Tlv): Uint8Array {
  if (node.tag !== TAG.bitString || node.end - node.contentStart < 1 || der[node.contentStart] !== 0) {
    throw malformed('expected a BIT STRING of whole bytes');
  }
  return der.subarray(node.contentStart + 1, node.end);
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Decodes a UTF8String that makes up all of `der`; invalid UTF-8 is refused, not replaced. */
export function readUtf8String(der: Uint8Array): string {
  const node = readWhole(der, TAG.utf8String);
  try {
    return strictUtf8.decode(contentOf(der, node));
  } catch (cause) {
    throw new CaError(CaErrorCode.BAD_DER, 'malformed DER: a UTF8String is not valid UTF-8', { cause });
  }
}
