// Statements the gateway answers by running other text in their place, with the same reply (see rewriteOf).
import { unwrap, type AnalyzedStatement } from '../policy/index.js';
import { applicationNameSet, taggedApplicationNameSql, type SessionTag } from './application-name.js';
import type { StatementDecision } from './session.js';

/** Text the gateway runs in place of a client's statement, with the same reply. */
export interface Rewrite {
  sql: string;
  rule: string;
  message: string;
  /** told to the client as a WARNING just before the statement's CommandComplete */
  notice?: string;
}

/**
 * Statements the gateway answers by running other text in their place, with the same reply:
 * - `SET application_name = 'x'` (pgjdbc sends it first thing): set to x next to the gateway's tag, which stays;
 * - a SET of a setting the policy forces (pg_dump's `SET statement_timeout = 0`): the forced value stays, the
 *   client is told so in a WARNING, and a placeholder SET answers "SET" as the original would (an aborted
 *   transaction fails it the same way).
 */
export function rewriteOf(stmt: AnalyzedStatement, d: StatementDecision, tag: SessionTag): Rewrite | undefined {
  const app = applicationNameSet(stmt);
  if (app) return { sql: taggedApplicationNameSql(app, tag), rule: 'application-name', message: 'application_name kept next to the agentdb session tag' };
  if (d.decision !== 'deny' || !d.ignorable) return undefined;
  const names = stmt.settingChanges.map((c) => c.name).join(', ');
  const set = unwrap(stmt.node)?.[1];
  const local = set?.is_local === true ? 'LOCAL ' : '';
  // The same command tag as the client's statement: RESET answers RESET, SET and SET LOCAL answer SET.
  const placeholder = set?.kind === 'VAR_RESET' ? 'RESET agentdb.ignored_setting' : `SET ${local}agentdb.ignored_setting = '${names.replace(/'/g, "''")}'`;
  return {
    sql: placeholder,
    rule: d.rule ?? 'forced-setting',
    message: `ignored: ${d.message ?? names}`,
    notice: `agentdb: ${names} ${stmt.settingChanges.length > 1 ? 'are' : 'is'} set by policy for this session; this SET was ignored and the forced value stays`,
  };
}

