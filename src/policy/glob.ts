// Name patterns of rules: '*' is any run of characters (dots too), '?' one character; the rest is literal and
// case-sensitive (a quoted "Orders" is not orders). Compiled once per config, tested on every statement.
import { qualifyRelation } from './relation-name.js';

export type NameTest = (name: string) => boolean;

export function compileGlob(pattern: string): NameTest {
  if (!/[*?]/.test(pattern)) return (name) => name === pattern;
  const source = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[\\s\\S]*').replace(/\?/g, '[\\s\\S]');
  const re = new RegExp(`^${source}$`);
  return (name) => re.test(name);
}

/** Any of the patterns matches. */
export function anyOf(tests: readonly NameTest[]): NameTest {
  if (tests.length === 1) return tests[0]!;
  return (name) => tests.some((t) => t(name));
}

/**
 * A relation pattern means what the same name would mean in SQL: 'orders' is 'public.orders', 'pg_class' is
 * 'pg_catalog.pg_class'. The analyzer qualifies names in statements the same way, so both sides compare
 * schema-qualified names. A lone '*' is every relation.
 */
export function compileRelationGlob(pattern: string): NameTest {
  if (pattern === '*') return () => true;
  return compileGlob(pattern.includes('.') ? pattern : qualifyRelation(undefined, pattern));
}

/**
 * A function pattern without a schema matches the function in any schema ('pg_read_file' also catches
 * pg_catalog.pg_read_file). With a schema it matches a call qualified that way, or an unqualified call that
 * PostgreSQL may resolve there: pg_catalog first, then public.
 */
export function compileFunctionGlob(pattern: string): NameTest {
  const test = compileGlob(pattern);
  if (!pattern.includes('.')) return (fn) => test(fn.slice(fn.lastIndexOf('.') + 1));
  return (fn) => (fn.includes('.') ? test(fn) : test(`pg_catalog.${fn}`) || test(`public.${fn}`));
}
