// search_path, as far as the analyzer's reading of names allows. The analyzer has no catalog: it reads an
// unqualified relation as public.x (pg_x as pg_catalog.pg_x) and an unqualified function as pg_catalog's when
// pg_catalog has one. A search_path keeps that reading true when it lists no schema but pg_catalog, public,
// pg_temp and "$user" (the default's own entries), with pg_catalog (when listed) before public: then a name
// means what the analyzer says, or nothing at all (search_path = '' as pg_dump sets it: PostgreSQL refuses
// the unqualified name). Any other schema could hold a same-named relation or function that PostgreSQL would
// pick instead.
const KEEPING = new Set(['pg_catalog', 'public', 'pg_temp', '$user']);

/** The schema names of a search_path value ('"$user", public' -> ['$user', 'public']); undefined if it does not parse. */
export function searchPathSchemas(value: string): string[] | undefined {
  const out: string[] = [];
  const text = value.trim();
  if (text === '' || text === '""') return out;
  for (const raw of text.split(',')) {
    const item = raw.trim();
    if (item.startsWith('"')) {
      if (!item.endsWith('"') || item.length < 2) return undefined;
      out.push(item.slice(1, -1).replace(/""/g, '"'));
    } else {
      if (!/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(item)) return undefined;
      out.push(item.toLowerCase());
    }
  }
  return out;
}

/**
 * Why setting search_path to `value` would make unqualified names mean something other than what the analyzer
 * reads, or undefined when it keeps them. null (RESET, SET DEFAULT) goes back to the session's start.
 */
export function searchPathProblem(value: string | null): string | undefined {
  if (value === null) return undefined;
  const schemas = searchPathSchemas(value);
  if (!schemas) return `search_path "${value}" is not a list of schema names the gateway can read`;
  const other = schemas.find((s) => !KEEPING.has(s));
  if (other !== undefined) return `search_path may list only pg_catalog, public, pg_temp and "$user": schema "${other}" could hold relations or functions that unqualified names would then mean (qualify names instead)`;
  const catalog = schemas.indexOf('pg_catalog');
  const pub = schemas.indexOf('public');
  if (catalog >= 0 && pub >= 0 && pub < catalog) return 'search_path may not put public before pg_catalog: a function in public would then take the place of the built-in one of the same name';
  return undefined;
}
