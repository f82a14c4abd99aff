// One spelling for every relation, so a rule can name it exactly once. The analyzer sees names as written
// and has no catalog; it resolves them the way PostgreSQL's default search path does.

/**
 * 'orders' -> 'public.orders'; 'pg_class' -> 'pg_catalog.pg_class'; a temporary relation -> 'pg_temp.x'.
 * pg_catalog is searched before public even when search_path does not name it, and every pg_ catalog lives
 * there, so an unqualified pg_ name is taken as a catalog. Only search_path values that keep this resolution
 * true are accepted (search-path.ts), for every identity.
 */
export function qualifyRelation(schema: string | undefined, relname: string, temporary = false): string {
  if (schema) return `${schema}.${relname}`;
  if (temporary) return `pg_temp.${relname}`;
  return relname.startsWith('pg_') ? `pg_catalog.${relname}` : `public.${relname}`;
}
