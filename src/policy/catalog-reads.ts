// Statements that only look at the database's description: the system catalogs and information_schema, through
// built-in functions that read nothing else. They return no user data (psql's \d, pg_dump --schema-only, an
// ORM's reflection read thousands of catalog rows), so a task's data budget does not count them.
import { classifyFunction } from './pg-functions/index.js';
import type { AnalyzedStatement } from './statement.js';

const CATALOG_SCHEMAS = ['pg_catalog.', 'information_schema.'];

/** Catalogs that hold samples of column values (most common values, histograms): user data, not its description. */
export const STATISTICS_RELATIONS: ReadonlySet<string> = new Set([
  'pg_catalog.pg_stats',
  'pg_catalog.pg_statistic',
  'pg_catalog.pg_stats_ext',
  'pg_catalog.pg_stats_ext_exprs',
  'pg_catalog.pg_statistic_ext_data',
]);

export function readsOnlyCatalogs(stmt: AnalyzedStatement): boolean {
  if (stmt.kinds.some((k) => k !== 'select') || stmt.writes.length > 0 || stmt.reads.length === 0) return false;
  if (!stmt.reads.every((r) => CATALOG_SCHEMAS.some((s) => r.startsWith(s)) && !STATISTICS_RELATIONS.has(r))) return false;
  // A function that may read tables (query_to_xml, a user function) could bring user data into the rows; a
  // set-returning one (generate_series) makes rows of its own.
  return stmt.functions.every((f) => {
    const fn = classifyFunction(f.split('.'));
    return fn.result !== 'data' && !fn.setReturning;
  });
}
