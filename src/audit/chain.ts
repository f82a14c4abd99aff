import { hash } from 'node:crypto';
import { canonicalMembers } from './canonical-json.js';
import { eventMembers, joinMembers } from './event-json.js';
import type { AuditEvent } from './event.js';

/** The prevHash of the first event. */
export const GENESIS_HASH = '0'.repeat(64);

function sha256Hex(prevHash: string, body: string): string {
  // One-shot: no Hash object per event (this runs once per statement).
  return hash('sha256', prevHash + body, 'hex');
}

/** hash = sha256 hex of (prevHash + canonicalJson(event without `hash`)). */
export function eventHash(prevHash: string, event: Omit<AuditEvent, 'hash'>): string {
  const members = canonicalMembers(event as unknown as Record<string, unknown>, { skipKey: 'hash' });
  return sha256Hex(prevHash, `{${members.join(',')}}`);
}

/**
 * Sets the event's hash and returns its stored text (canonical JSON of the whole event), both from
 * one encoding of its members: this runs once per statement on the gateway's path.
 */
export function sealEvent(unsealed: Omit<AuditEvent, 'hash'>): { event: AuditEvent; json: string } {
  const parts = eventMembers(unsealed);
  if (parts !== undefined) {
    const prev = unsealed.prevHash === undefined ? '' : `"prevHash":${JSON.stringify(unsealed.prevHash)}`;
    const hash = sha256Hex(unsealed.prevHash, joinMembers(parts.head, parts.middle, prev, parts.tail));
    const event = unsealed as AuditEvent;
    event.hash = hash;
    return { event, json: joinMembers(parts.head, `"hash":"${hash}"`, parts.middle, prev, parts.tail) };
  }
  const keys: string[] = [];
  const members = canonicalMembers(unsealed as unknown as Record<string, unknown>, { skipKey: 'hash', keysOut: keys });
  const hash = sha256Hex(unsealed.prevHash, `{${members.join(',')}}`);
  // `hash` goes where canonical order puts it, found among the sorted keys.
  let at = keys.findIndex((k) => k > 'hash');
  if (at === -1) at = keys.length;
  members.splice(at, 0, `"hash":"${hash}"`);
  const event = unsealed as AuditEvent;
  event.hash = hash;
  return { event, json: `{${members.join(',')}}` };
}
