// Which decisions the role's row threshold (review.rowsOver) turns into a hold: only writes the rules allow that
// change existing rows, wherever in the statement they are; the threshold is the smallest of the roles'.
import { beforeAll, describe, expect, test } from 'vitest';
import { z } from 'zod';
import { analyze, compilePolicy, holdByEffect, loadParser, roleSchema, rowsOverFor, ROWS_OVER_RULE, type Decision } from '../../src/policy/index.js';

const roles = z.record(z.string(), roleSchema).parse({
  writer: {
    review: { rowsOver: 100 },
    rules: [{ name: 'orders', action: 'allow', match: { kinds: ['select', 'insert', 'update', 'delete', 'merge', 'explain'], tables: ['public.orders'] } }],
  },
  careful: { review: { rowsOver: 10 } },
  plain: {},
});
const agent = { name: 'a', kind: 'agent', roles: ['writer'] };
const policy = compilePolicy(roles);

beforeAll(() => loadParser());

function decided(sql: string, rowsOver: number | 'none' = 100): Decision {
  const stmt = analyze(sql).statements[0]!;
  return holdByEffect(policy.decide(agent, stmt), stmt, rowsOver === 'none' ? undefined : rowsOver);
}

describe('holdByEffect', () => {
  test.each([
    'UPDATE orders SET status = 1 WHERE id = 5',
    'DELETE FROM orders WHERE id = id',
    "MERGE INTO orders o USING orders s ON o.id = s.id WHEN MATCHED THEN UPDATE SET status = 'x'",
    'WITH d AS (DELETE FROM orders WHERE id = 1 RETURNING id) SELECT * FROM d',
    'INSERT INTO orders SELECT * FROM orders ON CONFLICT (id) DO UPDATE SET status = 1',
    'EXPLAIN ANALYZE UPDATE orders SET status = 1 WHERE id = 5',
  ])('holds an allowed write of existing rows: %s', (sql) => {
    expect(decided(sql)).toMatchObject({ decision: 'review', rule: ROWS_OVER_RULE, message: expect.stringContaining('more than 100 rows') });
  });

  test.each([
    'SELECT * FROM orders',
    'INSERT INTO orders (id) VALUES (1)',
    'UPDATE orders SET status = 1 WHERE CURRENT OF c',
  ])('leaves alone what changes no existing rows, or one at most: %s', (sql) => {
    expect(decided(sql).decision).toBe('allow');
  });

  test('never turns a refusal into a hold (an automatic approval would let it through)', () => {
    const d = decided('UPDATE customers SET name = 1 WHERE id = id');
    expect(d.decision).toBe('deny');
  });

  test('without a threshold, decisions are the rules\' own', () => {
    expect(decided('UPDATE orders SET status = 1 WHERE id = id', 'none').decision).toBe('allow');
  });
});

describe('rowsOverFor', () => {
  test('the smallest threshold among the roles, or none', () => {
    expect(rowsOverFor(roles, ['writer'])).toBe(100);
    expect(rowsOverFor(roles, ['writer', 'careful'])).toBe(10);
    expect(rowsOverFor(roles, ['plain'])).toBeUndefined();
    expect(rowsOverFor(roles, ['no-such-role'])).toBeUndefined();
  });

  test('a negative or fractional threshold is a config error', () => {
    expect(() => roleSchema.parse({ review: { rowsOver: -1 } })).toThrow();
    expect(() => roleSchema.parse({ review: { rowsOver: 1.5 } })).toThrow();
  });
});
