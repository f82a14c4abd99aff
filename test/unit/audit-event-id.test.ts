// Audit event ids are UUIDv7: valid UUIDs whose text order is their time order (the store's index on them
// then grows at its end).
import { expect, test } from 'vitest';
import { newEventId } from '../../src/audit/event-id.js';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test('ids are version 7 UUIDs carrying the millisecond they were made in', () => {
  const id = newEventId(0x0123456789ab);
  expect(id).toMatch(UUID_V7);
  expect(id.startsWith('01234567-89ab-7')).toBe(true);
});

test('ids never repeat, and later milliseconds sort later', () => {
  const ids = Array.from({ length: 5000 }, (_, i) => newEventId(1_700_000_000_000 + i));
  expect(new Set(ids).size).toBe(ids.length);
  for (const id of ids) expect(id).toMatch(UUID_V7);
  expect([...ids].sort()).toEqual(ids);
  // many in the same millisecond still differ (74 random bits each)
  const same = Array.from({ length: 5000 }, () => newEventId(1_700_000_000_000));
  expect(new Set(same).size).toBe(same.length);
});
