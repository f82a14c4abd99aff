// What the parse tree's casts and catalogs mean for masked data. What a function does with it (its result's
// origin, which arguments may carry it) is the policy module's function catalogue: classifyFunction and
// mayTakeProtectedArg in src/policy/pg-functions.

// Casts that cannot fail on any text, so their errors never quote a value (and never fail at all, so their
// failing tells nothing). Anything else (integer, date, json, arrays, regclass) parses its input and says what
// it could not parse; bytea too, which refuses a backslash not followed by a valid escape.
const TEXTUAL_TYPES = new Set(['text', 'varchar', 'bpchar', 'char', 'character', 'character varying', 'name', 'unknown', 'citext']);

export function isTextualCast(typeNames: readonly string[], isArray: boolean): boolean {
  if (isArray) return false;
  const name = (typeNames[typeNames.length - 1] ?? '').toLowerCase();
  return TEXTUAL_TYPES.has(name);
}

