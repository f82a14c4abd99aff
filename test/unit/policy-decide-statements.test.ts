// The one merge of a query string's decisions (policy decideStatements), as the gateway runs it for a Query and
// a Parse: the rules per statement, then review-by-effect, what an EXECUTE of a name runs, masking's refusal; a
// refusal of the whole string first (budget, text not analysed), a syntax error next.
import { beforeAll, describe, expect, test } from 'vitest';
import { z } from 'zod';
import { analyze, compilePolicy, decideStatements, loadParser, roleSchema, ROWS_OVER_RULE, type StatementInputs } from '../../src/policy/index.js';

beforeAll(loadParser);

const policy = compilePolicy(z.record(z.string(), roleSchema).parse({
  writer: {
    defaults: 'none',
    rules: [
      { name: 'no-drop', action: 'deny', match: { kinds: ['ddl'] }, message: 'no DDL' },
      { name: 'orders', action: 'allow', match: { kinds: ['select', 'update', 'execute', 'insert'], tables: ['public.orders'] } },
      { name: 'hold-inserts', action: 'review', match: { kinds: ['insert'], tables: ['public.audit_log'] }, message: 'inserts into the audit log wait' },
      { name: 'reads', action: 'allow', match: { kinds: ['select'] } },
    ],
  },
}));
const agent = { name: 'a', kind: 'agent', roles: ['writer'] };
const rules: StatementInputs = { decide: (stmt) => policy.decide(agent, stmt) };
const decided = (sql: string, inputs: Partial<StatementInputs> = {}, refused?: { rule: string; message: string; sqlState?: string }) =>
  decideStatements(analyze(sql), { ...rules, ...inputs }, refused);

describe('decideStatements', () => {
  test('the strictest decision of the string wins; the first statement of it names the rule; a denial stops there', () => {
    expect(decided('SELECT id FROM customers; SELECT id FROM orders')).toMatchObject({ decision: 'allow', rule: 'reads' });
    expect(decided("SELECT 1; INSERT INTO audit_log VALUES (1); DROP TABLE orders")).toMatchObject({ decision: 'deny', rule: 'no-drop', message: 'no DDL' });
    expect(decided("SELECT 1; INSERT INTO audit_log VALUES (1); INSERT INTO audit_log VALUES (2)")).toMatchObject({ decision: 'review', rule: 'hold-inserts' });
    const asked: string[] = [];
    decided('DROP TABLE orders; SELECT 1', { decide: (s) => (asked.push(s.sql), policy.decide(agent, s)) });
    expect(asked).toEqual(['DROP TABLE orders']);
  });

  test('an empty string is allowed as empty; a string that does not parse is refused as syntax', () => {
    expect(decided('')).toEqual({ decision: 'allow', rule: 'empty' });
    expect(decided('SELEC 1')).toMatchObject({ decision: 'deny', rule: 'syntax', message: expect.stringMatching(/does not parse \(syntax error/) });
  });

  test('a refusal of the whole string (a spent budget, text not analysed) comes before anything else, with its SQLSTATE', () => {
    const budget = { rule: 'budget', message: 'the data budget of task t is spent' };
    expect(decided('SELEC 1', {}, budget)).toEqual({ decision: 'deny', ...budget });
    expect(decided('SELECT 1', {}, { rule: 'encoding', message: 'not UTF-8', sqlState: '22021' })).toEqual({ decision: 'deny', rule: 'encoding', message: 'not UTF-8', sqlState: '22021' });
  });

  test('review-by-effect holds an UPDATE the rules allow, and leaves a denied or read-only statement alone', () => {
    expect(decided('UPDATE orders SET id = 2')).toMatchObject({ decision: 'allow', rule: 'orders' });
    expect(decided('UPDATE orders SET id = 2', { rowsOver: 10 })).toMatchObject({ decision: 'review', rule: ROWS_OVER_RULE });
    expect(decided('SELECT id FROM orders; UPDATE orders SET id = 2', { rowsOver: 10 })).toMatchObject({ decision: 'review', rule: ROWS_OVER_RULE });
    expect(decided('UPDATE customers SET id = 2', { rowsOver: 10 })).toMatchObject({ decision: 'deny', rule: 'default' });
  });

  test("masking's refusal denies a statement the rules allow, and is not asked of one they deny", () => {
    const asked: string[] = [];
    const maskingRefusal = (s: { sql: string }) => (asked.push(s.sql), s.sql.includes('ssn') ? { rule: 'masking', message: 'reads a masked column' } : undefined);
    expect(decided('SELECT 1; SELECT ssn FROM customers', { maskingRefusal })).toMatchObject({ decision: 'deny', rule: 'masking', message: 'reads a masked column' });
    expect(decided('DROP TABLE orders', { maskingRefusal })).toMatchObject({ decision: 'deny', rule: 'no-drop' });
    expect(asked).toEqual(['SELECT 1', 'SELECT ssn FROM customers']);
  });

  test('an EXECUTE is decided as what its name runs: a PREPARE earlier in the string, or the session\'s; an unknown name is refused', () => {
    const update = analyze('UPDATE orders SET id = 2').statements[0]!;
    const prepared = (name: string) => (name === 'known' ? update : name === 'refused' ? null : undefined);
    // The PREPARE in the same string names an UPDATE: with rowsOver, its EXECUTE is held as the UPDATE is.
    expect(decided('PREPARE p AS UPDATE orders SET id = 2; EXECUTE p', { prepared, rowsOver: 10 })).toMatchObject({ decision: 'review', rule: ROWS_OVER_RULE });
    expect(decided('EXECUTE known', { prepared, rowsOver: 10 })).toMatchObject({ decision: 'review', rule: ROWS_OVER_RULE });
    expect(decided('EXECUTE nobody', { prepared })).toMatchObject({ decision: 'deny', rule: 'protocol', message: expect.stringMatching(/"nobody" was not prepared/) });
    // Known but not decided by its own text (it was refused itself): the EXECUTE's own decision stands.
    expect(decided('EXECUTE refused', { prepared })).toEqual(decided('EXECUTE refused'));
    // Without the session's names (policy callers), an EXECUTE is decided as itself.
    expect(decided('EXECUTE nobody')).toEqual(policy.decide(agent, analyze('EXECUTE nobody').statements[0]!));
  });

  test('decideAnalysis is this merge with the rules alone', () => {
    for (const sql of ['SELECT 1; DROP TABLE orders', 'INSERT INTO audit_log VALUES (1)', '', 'SELEC 1']) {
      expect(policy.decideAnalysis(agent, analyze(sql)), sql).toEqual(decided(sql));
    }
  });
});
