// Statements that differ only in their numeric literals share one analysis (analyze.ts, numeric-template.ts):
// the lexer must read a text as PostgreSQL does or refuse it, and a shared analysis must be exactly what the
// text's own parse would give, except for the tree, which only analyzeExact promises.
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import { analyze, analyzeExact, compilePolicy, loadParser, roleSchema, type AnalyzedStatement } from '../../src/policy/index.js';
import { numericTemplate } from '../../src/policy/numeric-template.js';
import { analyzeMaskedFlow, compileMasking, redactForAudit } from '../../src/masking/index.js';
import { demoRoles } from '../../src/server/dev/demo-roles.js';

await loadParser();

const I = '\0i';
const D = '\0d';
/** Templates are the latin1 text of the UTF-8 bytes: what a template of this JS text looks like. */
const bytesOf = (s: string) => Buffer.from(s, 'utf8').toString('latin1');

describe('numericTemplate', () => {
  test.each([
    ['SELECT abalance FROM pgbench_accounts WHERE aid = 17;', `SELECT abalance FROM pgbench_accounts WHERE aid = ${I};`],
    ['SELECT 0x1F, 0o17, 0b101, 1_000, .5, 1.5, 1e10, 2E-3, 3.', `SELECT ${I}, ${I}, ${I}, ${I}, ${D}, ${D}, ${D}, ${D}, ${D}`],
    ['SELECT -5, +5, a-1 FROM t', `SELECT -${I}, +${I}, a-${I} FROM t`],
    ["SELECT '17', \"c1\", $$ 5 $$, $x$ 6 $x$, /* 6 /* 7 */ 8 */ 9 -- 10\n, 11", `SELECT '17', "c1", $$ 5 $$, $x$ 6 $x$, /* 6 /* 7 */ 8 */ ${I} -- 10\n, ${I}`],
    ["SELECT E'a\\'b 5', 6", `SELECT E'a\\'b 5', ${I}`],
    ["SELECT 'it''s 5', X'1F', B'101', U&'\\0035', 6", `SELECT 'it''s 5', X'1F', B'101', U&'\\0035', ${I}`],
    ['SELECT $1 + 2, t1.c2, x$3 FROM t1', `SELECT $1 + ${I}, t1.c2, x$3 FROM t1`],
    ['SELECT a::numeric(10,2) FROM t', `SELECT a::numeric(${I},${I}) FROM t`],
    ['SELECT ärger9, 5 FROM t', `SELECT ärger9, ${I} FROM t`],
  ])('%j', (sql, template) => expect(numericTemplate(sql)).toBe(bytesOf(template)));

  test.each([
    ['no number', 'SELECT a FROM t1 WHERE b = $1'],
    ['a number run into a name (a syntax error since PostgreSQL 15)', 'SELECT 1abc'],
    ['two dots', 'SELECT 1.2.3'],
    ['0x without digits', 'SELECT 0x'],
    ['an unterminated string', "SELECT 'abc, 5"],
    ['an unterminated comment', 'SELECT 5 /* open'],
    ['an unterminated dollar quote', 'SELECT $a$ 5'],
    ['a parameter run into a name', 'SELECT $1a, 5'],
    ['an unterminated quoted name', 'SELECT "abc, 5'],
    ['a string continued on the next line (it keeps E\'\' escapes there)', "SELECT E''\n'\\'\"' FROM \"orders-2023\"--\"\n"],
    ['an unterminated nested comment', 'SELECT 5 /* a /* b */'],
  ])('refuses %s', (_why, sql) => expect(numericTemplate(sql)).toBeUndefined());

  test('a line comment ends at a carriage return, as in PostgreSQL', () => {
    expect(numericTemplate('DELETE FROM --\r/*\n"*/ "orders-2023" WHERE id = 7--"\n')).toBe(`DELETE FROM --\r/*\n"*/ "orders-2023" WHERE id = ${I}--"\n`);
  });

  test('texts that differ only in numeric literals share a template; anything else does not', () => {
    const t = numericTemplate('SELECT * FROM t WHERE a = 1 AND b = 2.5')!;
    expect(numericTemplate('SELECT * FROM t WHERE a = 99999 AND b = 0.001')).toBe(t);
    expect(numericTemplate('SELECT * FROM t WHERE a = 1.5 AND b = 2.5')).not.toBe(t);
    expect(numericTemplate("SELECT * FROM t WHERE a = '1' AND b = 2.5")).not.toBe(t);
    expect(numericTemplate('SELECT * FROM t WHERE a = 1 AND c = 2.5')).not.toBe(t);
  });
});

describe('a shared analysis', () => {
  const facts = (s: AnalyzedStatement) => {
    const { node: _node, template: _template, ...rest } = s;
    return rest;
  };

  test('gives every text its own statement text, and the facts of its own parse', () => {
    const first = analyze('/* pgbench */ SELECT abalance FROM pgbench_accounts WHERE aid = 17 ; -- end').statements[0]!;
    const sql = '/* pgbench */ SELECT abalance FROM pgbench_accounts WHERE aid = 123456 ; -- end';
    const second = analyze(sql).statements[0]!;
    expect(second.template).toBeDefined();
    expect(second.template).toBe(first.template);
    expect(second.node).toBe(first.node);
    const exact = analyzeExact(sql).statements[0]!;
    expect(exact.node).not.toBe(first.node);
    expect(facts(second)).toEqual(facts(exact));
    expect(second.sql).toBe('SELECT abalance FROM pgbench_accounts WHERE aid = 123456');
    // asked again (the gateway does, per chunk and per message), the same object comes back
    expect(analyze(sql).statements[0]).toBe(second);
  });

  test('a text the lexer would read otherwise than the server gets no template (the numbers must be the tree\'s constants)', () => {
    // The reviewer's attack: a quoted name hidden from a lexer that ends -- comments at \n only.
    for (const year of ['2023', '2024']) {
      const a = analyze(`DELETE FROM --\r/*\n"*/ "orders-${year}" WHERE id = 7--"\n`);
      expect(a.statements[0]?.writes).toEqual([`public.orders-${year}`]);
    }
    // Numbers that are not constants of the tree: an array bound.
    expect(analyze('SELECT x::int[3] FROM t WHERE a = 1').statements[0]?.template).toBeUndefined();
    // Folded signs are constants at the sign.
    expect(analyze('SELECT - -5, -6 FROM t WHERE a = - 1').statements[0]?.template).toBeDefined();
  });

  test('a later text is cut where the first one was, or analysed in full', () => {
    // The comment after the \r is a block comment to PostgreSQL: its digits are not numbers, so they are kept.
    const first = analyze('SELECT a FROM t WHERE b = 1;--\r/*\n5*/').statements[0]!;
    const other = analyze('SELECT a FROM t WHERE b = 1;--\r/*\n12345*/').statements[0]!;
    expect(first.template).toBeDefined();
    expect(other.template).not.toBe(first.template);
    expect(other.sql).toBe('SELECT a FROM t WHERE b = 1');
    const x = analyze('SELECT a FROM t2 WHERE b = 1; -- end').statements[0]!;
    const y = analyze('SELECT a FROM t2 WHERE b = 22222; -- end').statements[0]!;
    expect(y.template).toBe(x.template);
    expect(y.sql).toBe('SELECT a FROM t2 WHERE b = 22222');
  });

  test.each([
    ['ORDER BY a position', 'SELECT a, b FROM t ORDER BY 2'],
    ['GROUP BY a position', 'SELECT a, count(*) FROM t GROUP BY 1'],
    ['DISTINCT ON a position', 'SELECT DISTINCT ON (1) a FROM t'],
    ['a window ordered by a number', 'SELECT rank() OVER (ORDER BY 1) FROM t'],
    ['SET (the value is the literal)', 'SET statement_timeout = 5000'],
    ['set_config in a SELECT', "SELECT set_config('statement_timeout', '5', false), 1"],
    ['two statements', 'SELECT 1; SELECT 2'],
    ['EXPLAIN ANALYZE', 'EXPLAIN ANALYZE SELECT * FROM t WHERE a = 1'],
    ['PREPARE', 'PREPARE p AS SELECT * FROM t WHERE a = 1'],
    ['DDL', 'CREATE TABLE t5 (a numeric(10, 2))'],
  ])('is not made for %s', (_why, sql) => {
    expect(analyze(sql).statements.every((s) => s.template === undefined)).toBe(true);
  });

  test('decides every statement of the policy corpus as its own parse does, with other numbers', () => {
    const corpus = parse(readFileSync(new URL('../fixtures/policy-corpus.yaml', import.meta.url), 'utf8')) as { sql: string }[];
    const policy = compilePolicy(z.record(z.string(), roleSchema).parse(demoRoles('customers')));
    const agent = { name: 'demo-agent', kind: 'agent', roles: ['demo-agent'] };
    let shared = 0;
    for (const { sql } of corpus) {
      analyze(sql);
      // the same statement with every number outside quotes changed
      const variant = sql.replace(/(?<![\w$'".])(\d+)(?![\w'"])/g, (n) => String(Number(n) + 7));
      if (variant === sql) continue;
      const a = analyze(variant);
      const exact = analyzeExact(variant);
      expect(a.statements.map(facts), variant).toEqual(exact.statements.map(facts));
      expect(policy.decideAnalysis(agent, a), variant).toEqual(policy.decideAnalysis(agent, exact));
      if (a.statements[0]?.template !== undefined && a.statements[0].node !== exact.statements[0]?.node) shared++;
    }
    // the corpus has enough such statements for this test to mean something
    expect(shared).toBeGreaterThan(10);
  });

  test('literals guessing at a masked value are found in the text itself, not in the shared tree', () => {
    const masking = compileMasking([{ columns: { 'customers.card_last4': 'redact' } }], Buffer.alloc(32, 1));
    const first = analyze('SELECT name FROM customers WHERE card_last4 = 1234').statements[0]!;
    expect(redactForAudit(first.sql, analyzeMaskedFlow(first, masking))).toBe("SELECT name FROM customers WHERE card_last4 = '***'");
    const second = analyze('SELECT name FROM customers WHERE card_last4 = 98765432').statements[0]!;
    expect(second.template).toBe(first.template);
    expect(second.node).toBe(first.node);
    expect(redactForAudit(second.sql, analyzeMaskedFlow(second, masking))).toBe("SELECT name FROM customers WHERE card_last4 = '***'");
    const third = analyze('SELECT name FROM customers WHERE id = 98765432 AND card_last4 = 5').statements[0]!;
    const again = analyze('SELECT name FROM customers WHERE id = 1 AND card_last4 = 55555').statements[0]!;
    expect(again.template).toBe(third.template);
    expect(redactForAudit(again.sql, analyzeMaskedFlow(again, masking))).toBe("SELECT name FROM customers WHERE id = 1 AND card_last4 = '***'");
  });
});
