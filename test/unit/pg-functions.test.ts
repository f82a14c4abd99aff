// The function catalogue: pg_proc's facts as generated, and the reviewed conclusions held against them, so a
// typo or a function that changed its nature between versions cannot slip through as "total".
import { beforeAll, describe, expect, test } from 'vitest';
import { allPgFunctions, classifyFunction, loadParser, mayTakeProtectedArg, operandMayBeProtected, pgFunctionFacts, analyze } from '../../src/policy/index.js';
import { reviewedFunctionLists } from '../../src/policy/pg-functions/index.js';

const lists = reviewedFunctionLists();

beforeAll(() => loadParser());

describe('the generated table', () => {
  test('holds every function of pg_catalog of the supported versions', () => {
    expect(allPgFunctions().size).toBeGreaterThan(2700);
    expect(pgFunctionFacts('generate_series')).toMatchObject({ setReturning: true });
    expect(pgFunctionFacts('upper')).toMatchObject({ setReturning: false, volatility: 'immutable' });
    expect(pgFunctionFacts('query_to_xml')).toMatchObject({ volatility: 'volatile' });
    expect(pgFunctionFacts('string_agg')).toMatchObject({ aggregate: true });
    expect(pgFunctionFacts('texteq')).toMatchObject({ leakproof: true });
    expect(pgFunctionFacts('no_such_function')).toBeUndefined();
  });
});

describe('the reviewed lists agree with pg_proc', () => {
  test.each(Object.entries(lists))('every name in %s exists in pg_catalog', (_list, names) => {
    const missing = names.filter((n) => !pgFunctionFacts(n));
    expect(missing).toEqual([]);
  });

  test('no function reviewed as total returns a set', () => {
    expect(lists.total.filter((n) => pgFunctionFacts(n)!.setReturning)).toEqual([]);
  });

  test('functions reviewed as setting-dependent or catalog-only are the stable or volatile ones (immutable ones need no review)', () => {
    const needless = [...lists.settingDependent, ...lists.catalog].filter((n) => pgFunctionFacts(n)!.volatility === 'immutable');
    // A few are listed for the versions where they are stable; none may be listed for nothing in every version.
    expect(needless.length).toBeLessThan(15);
  });

  test('sinks are never total', () => {
    expect(lists.sinks.filter((n) => lists.total.includes(n))).toEqual([]);
  });
});

describe('classification', () => {
  test('a result comes from the arguments, the catalogs, or possibly from data', () => {
    expect(classifyFunction(['upper']).result).toBe('arguments');
    expect(classifyFunction(['pg_catalog', 'format_type']).result).toBe('catalog');
    expect(classifyFunction(['pg_function_is_visible']).result).toBe('catalog');
    expect(classifyFunction(['age']).result).toBe('arguments');
    expect(classifyFunction(['query_to_xml']).result).toBe('data');
    expect(classifyFunction(['lo_get']).result).toBe('data');
    expect(classifyFunction(['pg_stat_get_activity']).result).toBe('data');
    expect(classifyFunction(['public', 'upper']).result).toBe('data');
    expect(classifyFunction(['my_function']).facts).toBeUndefined();
  });

  test('which arguments may carry protected data', () => {
    const call = (sql: string) => {
      const node = analyze(`SELECT ${sql}`).statements[0]!.node as any;
      const fc = node.SelectStmt.targetList[0].ResTarget.val.FuncCall;
      return { fn: classifyFunction(fc.funcname.map((n: any) => n.String.sval)), args: fc.args ?? [] };
    };
    const ok = (sql: string, i: number) => {
      const { fn, args } = call(sql);
      return mayTakeProtectedArg(fn, i, args);
    };
    expect(ok("upper('x')", 0)).toBe(true);
    expect(ok("encode('x', 'hex')", 0)).toBe(true);
    expect(ok("encode('x', 'hex')", 1)).toBe(false);
    expect(ok("substr('x', 1, 2)", 0)).toBe(true);
    expect(ok("substr('x', 1, 2)", 2)).toBe(false);
    expect(ok("format('%s', 'x')", 1)).toBe(true);
    expect(ok("format('%*s', 3, 'x')", 1)).toBe(false);
    expect(ok('chr(65)', 0)).toBe(false);
    expect(ok('generate_series(1, 3)', 1)).toBe(false);
    expect(ok("array_agg(ARRAY['x'])", 0)).toBe(false);
    expect(ok("array_agg('x')", 0)).toBe(true);
    expect(ok('make_interval(days => 3)', 0)).toBe(false);
    expect(ok("set_config('a.b', 'x', false)", 1)).toBe(false);
  });

  test('operators: comparisons and concatenation take protected operands, arithmetic does not', () => {
    const op = (sql: string) => (analyze(`SELECT ${sql}`).statements[0]!.node as any).SelectStmt.targetList[0].ResTarget.val.A_Expr;
    expect(operandMayBeProtected(op("'a' = 'b'"), 'lexpr')).toBe(true);
    expect(operandMayBeProtected(op("'a' || 'b'"), 'rexpr')).toBe(true);
    expect(operandMayBeProtected(op('1 / 2'), 'lexpr')).toBe(false);
    expect(operandMayBeProtected(op('1 + 2'), 'rexpr')).toBe(false);
    expect(operandMayBeProtected(op("'a' ~ 'b'"), 'lexpr')).toBe(true);
    expect(operandMayBeProtected(op("'a' ~ 'b'"), 'rexpr')).toBe(false);
    expect(operandMayBeProtected(op("'a' LIKE 'b%'"), 'lexpr')).toBe(true);
    expect(operandMayBeProtected(op("'a' LIKE E'b\\\\'"), 'lexpr')).toBe(false);
    expect(operandMayBeProtected(op("to_jsonb(1) - 'k'"), 'lexpr')).toBe(true);
    expect(operandMayBeProtected(op("length('x') - 1"), 'lexpr')).toBe(false);
  });
});
