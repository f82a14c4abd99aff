// The PostgreSQL form of an audit search; same filters as sqlite/audit-search-sql.ts, values always as parameters.
import type { AuditFilter } from '../audit-query.js';

export const PG_AUDIT_COLUMNS =
  'seq, id, time, type, code, sid, identity_name, db_service, task_id, task_reason, sql, prev_hash, hash, json';

/** SELECT text (tables qualified by `schema`) and parameters for a filter. */
export function pgAuditSearchSql(schema: string, f: AuditFilter): { sql: string; params: unknown[] } {
  const where: string[] = [];
  const params: unknown[] = [];
  const p = (value: unknown): string => {
    params.push(value);
    return `$${params.length}`;
  };
  if (f.user !== undefined) where.push(`identity_name = ${p(f.user)}`);
  if (f.db !== undefined) where.push(`db_service = ${p(f.db)}`);
  if (f.sid !== undefined) where.push(`sid = ${p(f.sid)}`);
  // strpos, not LIKE: the user's text may hold % or _, which must match literally.
  if (f.taskId !== undefined && f.taskText !== undefined) {
    where.push(`(task_id = ${p(f.taskId)} OR strpos(lower(task_reason), ${p(f.taskText)}) > 0)`);
  }
  if (f.typeExact !== undefined) where.push(`type = ${p(f.typeExact)}`);
  // starts_with on a C-collated column can use its btree index; '*' alone filters nothing.
  if (f.typePrefix !== undefined && f.typePrefix !== '') where.push(`starts_with(type, ${p(f.typePrefix)})`);
  if (f.since !== undefined) where.push(`time >= ${p(f.since)}`);
  if (f.until !== undefined) where.push(`time <= ${p(f.until)}`);
  if (f.sqlText !== undefined) where.push(`strpos(lower(sql), ${p(f.sqlText)}) > 0`);
  const sql =
    `SELECT ${PG_AUDIT_COLUMNS} FROM "${schema}".audit` +
    (where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '') +
    ` ORDER BY seq ${f.order === 'desc' ? 'DESC' : 'ASC'} LIMIT ${p(f.limit)}`;
  return { sql, params };
}
