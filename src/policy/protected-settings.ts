// Settings a statement may never change, whatever the rules say: the ones a role forces on the session
// (statement_timeout, app.region for row-level security ...), the timeouts every agent and bot gets
// (AGENT_SESSION_DEFAULTS: lock_timeout, idle_in_transaction_session_timeout) and the ones the analyzer's reading of SQL
// depends on. The gateway sets both after connecting (see sessionSettingsFor).
import { searchPathProblem } from './search-path.js';
import type { AnalyzedStatement } from './statement.js';

/**
 * With standard_conforming_strings off, 'a\'' ends differently for the server than for the analyzer, and a
 * statement hidden in a string literal would run unseen; with another client_encoding the server decodes
 * bytes the analyzer read as UTF-8 differently. Both stay fixed; setting them to these values is harmless.
 */
export const PARSER_SETTINGS: Readonly<Record<string, string>> = Object.freeze({ standard_conforming_strings: 'on', client_encoding: 'UTF8' });

const SAME_VALUE: Readonly<Record<string, (v: string) => boolean>> = {
  standard_conforming_strings: (v) => ['on', 'true', 'yes', '1'].includes(v.toLowerCase()),
  client_encoding: (v) => ['utf8', 'unicode'].includes(v.toLowerCase().replace(/[-_]/g, '')),
};

/** The transaction-level twin of a session default: BEGIN READ WRITE overrides default_transaction_read_only. */
function twinOf(name: string): string | undefined {
  return name.startsWith('default_transaction_') ? name.slice('default_'.length) : undefined;
}

/** Lower-cased names to protect, from the forced names of the identity's roles. */
export function protectedNames(forced: Iterable<string>): Set<string> {
  const names = new Set<string>();
  for (const f of forced) {
    const n = f.toLowerCase();
    names.add(n);
    const twin = twinOf(n);
    if (twin) names.add(twin);
  }
  return names;
}

/** Why the statement would change a protected setting, or undefined. */
export function protectedSettingViolation(stmt: AnalyzedStatement, forced: ReadonlySet<string>): string | undefined {
  // RESET ALL and DISCARD ALL (connection pools send them) go back to the values the session started with, and
  // the gateway starts every session with the fixed settings in the startup packet: they stay (see gateway.ts).
  // UPDATE pg_settings calls set_config() for each row it changes; which settings those are is data, not SQL.
  if (stmt.writes.includes('pg_catalog.pg_settings')) return 'writing pg_settings changes settings the gateway fixes for this session';
  for (const change of stmt.settingChanges) {
    if (forced.has(change.name)) return `"${change.name}" is set by policy for this session and cannot be changed`;
    if (change.name === 'search_path') {
      const problem = searchPathProblem(change.value);
      if (problem) return problem;
    }
    const same = SAME_VALUE[change.name];
    if (same && !(change.value !== null && same(change.value))) {
      return `"${change.name}" must stay ${PARSER_SETTINGS[change.name]}: the gateway reads SQL text with that setting`;
    }
  }
  return undefined;
}
