import type { SQLInputValue } from 'node:sqlite';
import type { AuditFilter } from '../audit-query.js';

/** Lower-cases like JavaScript (SQLite's lower() only knows ASCII); registered on every connection. */
export const LOWER_FUNCTION = 'agentdb_lower';

export const AUDIT_COLUMNS =
  'seq, id, time, type, code, sid, identity_name, db_service, task_id, task_reason, sql, prev_hash, hash, json';

/** The smallest string greater than every string that starts with `prefix`. */
function prefixUpperBound(prefix: string): string {
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}

/**
 * SELECT text and parameters for a filter. The text depends only on which filters are set, so the
 * caller can cache one prepared statement per shape.
 */
export function auditSearchSql(f: AuditFilter): { sql: string; params: SQLInputValue[] } {
  const where: string[] = [];
  const params: SQLInputValue[] = [];
  const add = (clause: string, ...values: SQLInputValue[]): void => {
    where.push(clause);
    params.push(...values);
  };
  if (f.user !== undefined) add('identity_name = ?', f.user);
  if (f.db !== undefined) add('db_service = ?', f.db);
  if (f.sid !== undefined) add('sid = ?', f.sid);
  if (f.taskId !== undefined && f.taskText !== undefined) {
    add(`(task_id = ? OR instr(${LOWER_FUNCTION}(task_reason), ?) > 0)`, f.taskId, f.taskText);
  }
  if (f.typeExact !== undefined) add('type = ?', f.typeExact);
  // A range on the type keeps the index usable for a prefix; '*' alone filters nothing.
  if (f.typePrefix !== undefined && f.typePrefix !== '') {
    add('type >= ? AND type < ?', f.typePrefix, prefixUpperBound(f.typePrefix));
  }
  if (f.since !== undefined) add('time >= ?', f.since);
  if (f.until !== undefined) add('time <= ?', f.until);
  if (f.sqlText !== undefined) add(`instr(${LOWER_FUNCTION}(sql), ?) > 0`, f.sqlText);
  params.push(f.limit);
  const sql =
    `SELECT ${AUDIT_COLUMNS} FROM audit` +
    (where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '') +
    ` ORDER BY seq ${f.order === 'desc' ? 'DESC' : 'ASC'} LIMIT ?`;
  return { sql, params };
}
