// PostgreSQL's own functions as pg_proc describes them (the generated table in catalogue.data.ts), read once
// into a Map. Facts only: what the gateway concludes from them is in classification.ts.
import { PG_FUNCTION_LINES, PG_VERSIONS } from './catalogue.data.js';

export type Volatility = 'immutable' | 'stable' | 'volatile';

export interface PgFunctionFacts {
  readonly name: string;
  /** some overload is an aggregate (count, string_agg, ...) */
  readonly aggregate: boolean;
  /** some overload is a window function (row_number, lag, ...) */
  readonly window: boolean;
  /** some overload returns a set: used in a select list it multiplies rows */
  readonly setReturning: boolean;
  /** the most volatile overload's volatility */
  readonly volatility: Volatility;
  /** every overload is marked leakproof: no side effects, no error that depends on its arguments' values */
  readonly leakproof: boolean;
  /** return types of the overloads, as format_type() writes them */
  readonly returns: readonly string[];
  /** major versions whose pg_catalog has it */
  readonly versions: readonly string[];
}

const VOLATILITY: Record<string, Volatility> = { i: 'immutable', s: 'stable', v: 'volatile' };

function load(): ReadonlyMap<string, PgFunctionFacts> {
  const out = new Map<string, PgFunctionFacts>();
  for (const line of PG_FUNCTION_LINES.split('\n')) {
    if (!line) continue;
    const [name, kinds, retset, volatility, leakproof, returns, , versions] = line.split('\t');
    out.set(name!, Object.freeze({
      name: name!,
      aggregate: kinds!.includes('a'),
      window: kinds!.includes('w'),
      setReturning: retset!.includes('s'),
      volatility: VOLATILITY[volatility!] ?? 'volatile',
      leakproof: leakproof === 'L',
      returns: Object.freeze(returns!.split('|')),
      versions: Object.freeze(versions!.split(',')),
    }));
  }
  return out;
}

let table: ReadonlyMap<string, PgFunctionFacts> | undefined;

/** The facts of pg_catalog's function `name` (as the parse tree spells it), or undefined for a name pg_catalog lacks. */
export function pgFunctionFacts(name: string): PgFunctionFacts | undefined {
  table ??= load();
  return table.get(name);
}

/** Every function of the table (for tests and reports). */
export function allPgFunctions(): ReadonlyMap<string, PgFunctionFacts> {
  table ??= load();
  return table;
}

export const SUPPORTED_PG_VERSIONS: readonly string[] = PG_VERSIONS;
