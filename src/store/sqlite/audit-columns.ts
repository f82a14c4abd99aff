// Audit records cross to the writer thread as one flat array of column values rather than as objects:
// structured cloning a string array copies the strings, cloning objects also writes every property name
// of every record, and the writer thread would only take the values apart again for its INSERT.
import type { AuditRecord } from '../records.js';

const COLUMNS = ['id', 'time', 'type', 'code', 'sid', 'identityName', 'dbService', 'taskId', 'taskReason', 'sql', 'prevHash', 'hash', 'json'] as const satisfies readonly (keyof AuditRecord)[];
// A column added to AuditRecord and not listed here fails to compile instead of being dropped on the way.
type Unlisted = Exclude<keyof AuditRecord, (typeof COLUMNS)[number]>;
const allListed: [Unlisted] extends [never] ? true : never = true;
void allListed;
const WIDTH = COLUMNS.length;

export function flattenAuditRecords(records: readonly AuditRecord[]): (string | null)[] {
  const flat: (string | null)[] = new Array(records.length * WIDTH);
  let i = 0;
  for (const r of records) for (const c of COLUMNS) flat[i++] = r[c] ?? null;
  return flat;
}

export function unflattenAuditRecords(flat: readonly (string | null)[]): AuditRecord[] {
  const out: AuditRecord[] = [];
  for (let i = 0; i + WIDTH <= flat.length; i += WIDTH) {
    const r: Record<string, string> = {};
    for (let c = 0; c < WIDTH; c++) {
      const v = flat[i + c];
      if (v !== null && v !== undefined) r[COLUMNS[c]!] = v;
    }
    out.push(r as unknown as AuditRecord);
  }
  return out;
}
