// application_name as pg_stat_activity shows it: the client's own name (pgjdbc's "PostgreSQL JDBC Driver",
// psql's "psql") next to the gateway's tag, which names the session and the identity and can never be
// removed. A client that sets application_name at startup or with SET gets its name kept in front of the tag.
import { isObject, list, unwrap, type AnalyzedStatement } from '../policy/index.js';

// NAMEDATALEN - 1: PostgreSQL truncates longer values to 63 bytes.
const MAX_BYTES = 63;

/** The session a connection serves, as pg_stat_activity should name it. */
export interface SessionTag {
  sid: string;
  identity: string;
}

export function sessionTag(sid: string, identity: string): SessionTag {
  return { sid, identity };
}

/**
 * `agentdb <sid> <identity>` for a client that names itself nothing; `<client> [agentdb <sid>]` for one that does,
 * its name cut to what fits in 63 bytes (the session id, which the audit log names the identity by, always does).
 * The tag comes last, so a client's text cannot pose as another session's tag.
 */
export function taggedApplicationName(client: string | undefined, tag: SessionTag): string {
  const clean = (client ?? '').replace(/[\x00-\x1f\x7f]/g, '').trim();
  if (!clean) return cutBytes(`agentdb ${tag.sid} ${tag.identity}`, MAX_BYTES);
  const suffix = ` [agentdb ${tag.sid}]`;
  const room = MAX_BYTES - Buffer.byteLength(suffix);
  return room > 0 ? `${cutBytes(clean, room).trimEnd()}${suffix}` : cutBytes(`agentdb ${tag.sid}`, MAX_BYTES);
}

function cutBytes(s: string, max: number): string {
  if (Buffer.byteLength(s) <= max) return s;
  let out = '';
  for (const ch of s) {
    if (Buffer.byteLength(out + ch) > max) break;
    out += ch;
  }
  return out;
}

/**
 * The client's name in `SET [SESSION | LOCAL] application_name {= | TO} 'name'`, when that is the whole statement;
 * undefined for anything else (RESET goes back to the tagged startup value and needs no rewrite).
 */
export function applicationNameSet(stmt: AnalyzedStatement): { name: string; local: boolean } | undefined {
  const w = unwrap(stmt.node);
  if (!w || w[0] !== 'VariableSetStmt') return undefined;
  const b = w[1];
  if (b.kind !== 'VAR_SET_VALUE' || typeof b.name !== 'string' || b.name.toLowerCase() !== 'application_name') return undefined;
  const args = list(b.args);
  if (args.length !== 1) return undefined;
  const c = unwrap(args[0]);
  if (!c || c[0] !== 'A_Const' || !isObject(c[1].sval)) return undefined;
  const name = c[1].sval.sval;
  return typeof name === 'string' ? { name, local: b.is_local === true } : undefined;
}

/** The statement that replaces the client's SET: the same command, with the tag kept. */
export function taggedApplicationNameSql(set: { name: string; local: boolean }, tag: SessionTag): string {
  const value = taggedApplicationName(set.name, tag).replace(/'/g, "''");
  return `SET ${set.local ? 'LOCAL ' : ''}application_name = '${value}'`;
}
