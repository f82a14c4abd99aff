// Audit event ids: UUID version 7 (RFC 9562), whose first 48 bits are the Unix time in milliseconds. Ids that
// grow with time land at the end of the store's unique index on them; random (version 4) ids land all over
// it, and at thousands of events a second that index's page churn was most of the store's write cost.
import { randomFillSync } from 'node:crypto';

// Random bits are drawn for many ids at once: one call into the CSPRNG per 512 ids, not one per id.
const POOL_IDS = 512;
const pool = Buffer.alloc(POOL_IDS * 10);
let used = POOL_IDS;
const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

// The millisecond part is the same for the many ids made within one millisecond under load.
let prefixMs = -1;
let prefix = '';

function msPrefix(now: number): string {
  if (now !== prefixMs) {
    const ms = now.toString(16).padStart(12, '0').slice(-12);
    prefix = `${ms.slice(0, 8)}-${ms.slice(8, 12)}-`;
    prefixMs = now;
  }
  return prefix;
}

/** A new UUIDv7: 48 bits of milliseconds, version 7, 12 + 62 random bits, variant 10. */
export function newEventId(now = Date.now()): string {
  if (used === POOL_IDS) {
    randomFillSync(pool);
    used = 0;
  }
  const r = used++ * 10;
  const h = (i: number) => HEX[pool[r + i]!]!;
  return (
    msPrefix(now) +
    `7${HEX[pool[r]! & 0x0f]![1]}${h(1)}-` +
    `${HEX[(pool[r + 2]! & 0x3f) | 0x80]}${h(3)}-` +
    `${h(4)}${h(5)}${h(6)}${h(7)}${h(8)}${h(9)}`
  );
}
