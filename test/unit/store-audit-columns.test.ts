// Audit records cross to the store's writer thread as flat column values; they must come back the same.
import { expect, test } from 'vitest';
import { flattenAuditRecords, unflattenAuditRecords } from '../../src/store/sqlite/audit-columns.js';
import type { AuditRecord } from '../../src/store/index.js';

test('records survive the flat form, optional columns left out stay out', () => {
  const full: AuditRecord = {
    id: 'a', time: '2026-11-22T00:00:00.000Z', type: 'db.session.query', code: 'TDB02I', sid: 's', identityName: 'agent',
    dbService: 'customers', taskId: 't', taskReason: 'why', sql: 'SELECT 1', prevHash: '0'.repeat(64), hash: '1'.repeat(64), json: '{}',
  };
  const bare: AuditRecord = { id: 'b', time: '2026-11-22T00:00:01.000Z', type: 'login', code: 'T1000I', prevHash: '1'.repeat(64), hash: '2'.repeat(64), json: '{"x":1}' };
  const flat = flattenAuditRecords([full, bare]);
  expect(flat.every((v) => v === null || typeof v === 'string')).toBe(true);
  expect(unflattenAuditRecords(flat)).toEqual([full, bare]);
  expect(unflattenAuditRecords(flattenAuditRecords([]))).toEqual([]);
});
