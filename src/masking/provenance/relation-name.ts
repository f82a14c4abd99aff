// One spelling for every relation, the one the policy module uses, so a masked table is recognised however a
// statement writes it.

/**
 * PostgreSQL's default search path, the way the policy module names relations: pg_catalog first (every pg_
 * relation lives there), then public; temporary relations in pg_temp.
 */
export function qualifyRelation(schema: string | undefined, relname: string, temporary = false): string {
  if (schema) return `${schema}.${relname}`;
  if (temporary) return `pg_temp.${relname}`;
  return relname.startsWith('pg_') ? `pg_catalog.${relname}` : `public.${relname}`;
}
