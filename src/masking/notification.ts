// LISTEN/NOTIFY: a payload can carry anything the sender (a trigger on a masked table, say) put into it, and
// no parse tree says where it came from. Where columns are masked, payloads are replaced whole by default;
// otherwise the detectors scan them.
import { MaskingError, MaskingErrorCode } from './errors.js';
import type { MaskingPolicy } from './policy.js';
import { REDACTED } from './strategies.js';

const NOTIFICATION = 0x41; // 'A'

/** Rewrites a NotificationResponse message (type byte at off, len its whole length): the new message, or undefined. */
export function rewriteNotification(buf: Buffer, off: number, len: number, policy: MaskingPolicy): Buffer | undefined {
  if (policy.notifications === 'pass') return undefined;
  const end = off + len;
  if (len < 11 || end > buf.length || buf[off] !== NOTIFICATION || buf.readInt32BE(off + 1) !== len - 1) throw malformed();
  const channelStart = off + 9;
  const channelEnd = buf.indexOf(0, channelStart);
  if (channelEnd < 0 || channelEnd >= end) throw malformed();
  const payloadEnd = buf.indexOf(0, channelEnd + 1);
  if (payloadEnd !== end - 1) throw malformed();
  const payload = buf.toString('utf8', channelEnd + 1, payloadEnd);
  let masked: string;
  if (policy.notifications === 'redact') masked = payload === '' ? payload : REDACTED;
  else masked = policy.scanner ? policy.scanner.scan(payload) : payload;
  if (masked === payload) return undefined;
  const head = buf.subarray(off + 5, channelEnd + 1); // pid and channel with its terminator
  const size = 4 + head.length + Buffer.byteLength(masked, 'utf8') + 1;
  const out = Buffer.allocUnsafe(1 + size);
  out[0] = NOTIFICATION;
  out.writeInt32BE(size, 1);
  let w = 5 + head.copy(out, 5);
  w += out.write(masked, w, 'utf8');
  out[w] = 0;
  return out;
}

function malformed(): MaskingError {
  return new MaskingError(MaskingErrorCode.MALFORMED_NOTIFICATION, 'malformed NotificationResponse from the database');
}
