// The analyzer: what one statement does, reads, writes, calls and sets, read from PostgreSQL 18's own parse tree.
import { beforeAll, describe, expect, test } from 'vitest';
import { analyze, loadParser, PolicyError, type AnalyzedStatement } from '../../src/policy/index.js';

function one(sql: string): AnalyzedStatement {
  const a = analyze(sql);
  expect(a.error, sql).toBeUndefined();
  expect(a.statements, sql).toHaveLength(1);
  return a.statements[0]!;
}

let beforeLoad: unknown;
beforeAll(async () => {
  try {
    analyze('SELECT 1');
  } catch (err) {
    beforeLoad = err;
  }
  await loadParser();
});

test('refuses to analyse before the parser is loaded, with a clear error', () => {
  expect(beforeLoad).toBeInstanceOf(PolicyError);
  expect((beforeLoad as PolicyError).code).toBe('AGENTDB_ERR_POLICY_PARSER_NOT_LOADED');
  expect(analyze('SELECT 1').statements).toHaveLength(1);
});

describe('kinds', () => {
  test.each([
    ['SELECT 1', 'select', ['select']],
    ['INSERT INTO t VALUES (1)', 'insert', ['insert']],
    ['INSERT INTO t VALUES (1) ON CONFLICT (a) DO UPDATE SET b = 2', 'insert', ['insert', 'update']],
    ['INSERT INTO t VALUES (1) ON CONFLICT DO NOTHING', 'insert', ['insert']],
    ['UPDATE t SET a = 1 WHERE b = 2', 'update', ['update']],
    ['DELETE FROM t WHERE a = 1', 'delete', ['delete']],
    ['MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE WHEN NOT MATCHED THEN INSERT VALUES (s.id)', 'merge', ['merge', 'delete', 'insert']],
    ['SELECT * INTO x FROM t', 'select-into', ['select-into']],
    ['CREATE TABLE x AS SELECT * FROM t', 'ddl', ['ddl']],
    ['GRANT SELECT ON t TO r', 'dcl', ['dcl']],
    ['COPY t FROM STDIN', 'copy-in', ['copy-in']],
    ['COPY t TO STDOUT', 'copy-out', ['copy-out']],
    ['COPY (DELETE FROM t RETURNING *) TO STDOUT', 'copy-out', ['copy-out', 'delete']],
    ['SET work_mem = 1', 'set', ['set']],
    ['SET LOCAL work_mem = 1', 'set', ['set']],
    ['RESET work_mem', 'set', ['set']],
    ['BEGIN', 'transaction', ['transaction']],
    ['SAVEPOINT a', 'transaction', ['transaction']],
    ['SET CONSTRAINTS ALL DEFERRED', 'transaction', ['transaction']],
    ['VACUUM t', 'utility', ['utility']],
    ['LISTEN x', 'utility', ['utility']],
    ['CALL p()', 'call', ['call']],
    ['DO $$ BEGIN END $$', 'do', ['do']],
    ['EXPLAIN SELECT 1', 'explain', ['explain']],
    ['EXECUTE p', 'execute', ['execute']],
    ['DEALLOCATE p', 'deallocate', ['deallocate']],
    ['FETCH 1 FROM c', 'cursor', ['cursor']],
    ['CLOSE c', 'cursor', ['cursor']],
    ['SHOW work_mem', 'show', ['show']],
    ['SELECT set_config(\'work_mem\', \'1MB\', false)', 'select', ['select', 'set']],
  ])('%s is %s', (sql, kind, kinds) => {
    const s = one(sql);
    expect(s.kind).toBe(kind);
    expect(s.kinds).toEqual(kinds);
  });

  test('DML inside a CTE is the kind of a SELECT around it', () => {
    const s = one('WITH d AS (DELETE FROM orders WHERE id = 1 RETURNING *) SELECT * FROM d');
    expect(s.kind).toBe('delete');
    expect(s.kinds).toEqual(['delete']);
    expect(s.writes).toEqual(['public.orders']);
    expect(s.reads).toEqual([]);
  });

  test('an INSERT with a deleting CTE does both', () => {
    const s = one('WITH d AS (DELETE FROM a WHERE x = 1 RETURNING *) INSERT INTO b SELECT * FROM d');
    expect(s.kind).toBe('insert');
    expect(s.kinds).toEqual(['insert', 'delete']);
    expect([...s.writes].sort()).toEqual(['public.a', 'public.b']);
  });
});

describe('relations', () => {
  test('names are schema-qualified the way the default search path resolves them', () => {
    const s = one('SELECT * FROM orders, sales.orders, pg_class, "Mixed", "a.b", db.public.x');
    expect(s.reads).toEqual(['public.orders', 'sales.orders', 'pg_catalog.pg_class', 'public.Mixed', 'public.a.b', 'public.x']);
    expect(s.tables).toEqual(s.reads);
  });

  test('reads and writes are told apart: DML targets, SELECT INTO, CTAS, COPY FROM', () => {
    expect(one('UPDATE o SET a = 1 FROM c WHERE c.id = o.id').reads).toEqual(['public.c']);
    expect(one('UPDATE o SET a = 1 FROM c WHERE c.id = o.id').writes).toEqual(['public.o']);
    expect(one('DELETE FROM o USING c WHERE c.id = o.id').writes).toEqual(['public.o']);
    expect(one('SELECT * INTO x FROM y').writes).toEqual(['public.x']);
    expect(one('SELECT * INTO TEMP x FROM y').writes).toEqual(['pg_temp.x']);
    expect(one('CREATE TABLE s.x AS SELECT * FROM y')).toMatchObject({ writes: ['s.x'], reads: ['public.y'] });
    expect(one('COPY t FROM STDIN')).toMatchObject({ writes: ['public.t'], reads: [] });
    expect(one('COPY t TO STDOUT')).toMatchObject({ writes: [], reads: ['public.t'] });
    expect(one('MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE')).toMatchObject({ writes: ['public.t'], reads: ['public.s'] });
    expect(one('TRUNCATE a, b')).toMatchObject({ writes: ['public.a', 'public.b'], whereless: true });
    expect(one('DROP TABLE s.a, b').writes).toEqual(['s.a', 'public.b']);
    expect(one('CREATE VIEW v AS SELECT * FROM t')).toMatchObject({ writes: ['public.v'], reads: ['public.t'] });
    expect(one('LOCK TABLE t').reads).toEqual(['public.t']);
  });

  test('CTE names are scoped: they hide relations only where PostgreSQL would', () => {
    expect(one('WITH x AS (SELECT 1) SELECT * FROM x').reads).toEqual([]);
    expect(one('WITH x AS (SELECT * FROM x) SELECT * FROM x').reads).toEqual(['public.x']);
    expect(one('WITH RECURSIVE x AS (SELECT 1 UNION ALL SELECT * FROM x) SELECT * FROM x').reads).toEqual([]);
    expect(one('WITH a AS (SELECT 1), b AS (SELECT * FROM a) SELECT * FROM b').reads).toEqual([]);
    expect(one('WITH a AS (SELECT * FROM b), b AS (SELECT 1) SELECT * FROM a').reads).toEqual(['public.b']);
    expect(one('SELECT * FROM (WITH s AS (SELECT 1) SELECT * FROM s) q, s').reads).toEqual(['public.s']);
    expect(one('SELECT * FROM s, (WITH s AS (SELECT 1) SELECT * FROM s) q').reads).toEqual(['public.s']);
    expect(one('WITH x AS (SELECT 1) SELECT * FROM public.x').reads).toEqual(['public.x']);
    expect(one('WITH t AS (SELECT 1) DELETE FROM t').writes).toEqual(['public.t']);
    expect(one('SELECT 1 UNION SELECT * FROM u').reads).toEqual(['public.u']);
  });
});

describe('functions', () => {
  test('are collected from every clause, lower-cased and qualified as written', () => {
    const s = one(`SELECT f1(a) FROM t, LATERAL f2(t.a) g JOIN u ON f3() WHERE f4() GROUP BY f5() HAVING f6()
      ORDER BY f7() LIMIT f8() OFFSET "F9"()`);
    expect([...s.functions].sort()).toEqual(['f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7', 'f8', 'f9']);
    expect(one('SELECT pg_catalog.Set_Config(\'a\', \'b\', false)').functions).toEqual(['pg_catalog.set_config']);
    expect(one('INSERT INTO t VALUES (f()) RETURNING g()').functions).toEqual(['f', 'g']);
    expect(one('CALL s.p(f())').functions).toEqual(['s.p', 'f']);
    expect(one('EXECUTE p(f())').functions).toEqual(['f']);
    expect(one('CREATE TABLE t (a int DEFAULT f())').functions).toEqual(['f']);
  });
});

describe('settings', () => {
  test.each([
    ['SET statement_timeout = 0', [{ name: 'statement_timeout', value: '0' }]],
    ["SET LOCAL App.Region = 'eu'", [{ name: 'app.region', value: 'eu' }]],
    ['SET search_path TO a, b', [{ name: 'search_path', value: 'a, b' }]],
    ['RESET statement_timeout', [{ name: 'statement_timeout', value: null }]],
    ['SET statement_timeout TO DEFAULT', [{ name: 'statement_timeout', value: null }]],
    ['SET ROLE x', [{ name: 'role', value: 'x' }]],
    ['RESET ROLE', [{ name: 'role', value: null }]],
    ['SET SESSION AUTHORIZATION x', [{ name: 'session_authorization', value: 'x' }]],
    ["SET NAMES 'sjis'", [{ name: 'client_encoding', value: 'sjis' }]],
    ["SET SCHEMA 'x'", [{ name: 'search_path', value: 'x' }]],
    ['SET TRANSACTION READ WRITE', [{ name: 'transaction_read_only', value: '0' }]],
    ['SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE', [{ name: 'default_transaction_read_only', value: '0' }]],
    ['BEGIN ISOLATION LEVEL SERIALIZABLE', [{ name: 'transaction_isolation', value: 'serializable' }]],
    ["SELECT set_config('Role', 'x', false)", [{ name: 'role', value: 'x' }]],
    ["SELECT set_config('role'::text, 'x', false)", [{ name: 'role', value: 'x' }]],
    ["SELECT set_config(new_value => 'x', setting_name => 'role', is_local => true)", [{ name: 'role', value: 'x' }]],
    ["SELECT set_config('work_mem', current_setting('work_mem'), false)", [{ name: 'work_mem', value: null }]],
  ])('%s', (sql, changes) => {
    const s = one(sql);
    expect(s.settingChanges).toEqual(changes);
    expect(s.settings).toEqual(changes.map((c) => c.name));
    expect(s.unclassified).toBeUndefined();
  });

  test('RESET ALL and DISCARD ALL reset everything', () => {
    expect(one('RESET ALL')).toMatchObject({ resetsAll: true, settings: [] });
    expect(one('DISCARD ALL')).toMatchObject({ resetsAll: true });
    expect(one('DISCARD PLANS')).toMatchObject({ resetsAll: false });
  });

  test('set_config with a setting name that is not a literal is unclassified', () => {
    expect(one('SELECT set_config($1, $2, false)').unclassified).toMatch(/not a literal/);
    expect(one("SELECT set_config(name, 'x', false) FROM pg_settings").unclassified).toMatch(/not a literal/);
    expect(one("SELECT set_config('ro' || 'le', 'x', false)").unclassified).toMatch(/not a literal/);
  });

  test('a SET inside DDL (ALTER ROLE, CREATE FUNCTION) does not change this session', () => {
    expect(one('ALTER ROLE r SET statement_timeout = 0').settings).toEqual([]);
    expect(one('CREATE FUNCTION f() RETURNS int SET search_path = x AS $$ SELECT 1 $$ LANGUAGE sql').settings).toEqual([]);
  });
});

describe('properties', () => {
  test.each([
    ['UPDATE t SET a = 1', true],
    ['DELETE FROM t', true],
    ['DELETE FROM t WHERE true', true],
    ['DELETE FROM t WHERE 1 = 1', true],
    ['DELETE FROM t WHERE now() > now()', true],
    ['DELETE FROM t WHERE a = 1', false],
    ['DELETE FROM t WHERE CURRENT OF c', false],
    ['UPDATE t SET a = 1 WHERE EXISTS (SELECT 1 FROM u WHERE u.id = t.id)', false],
    ['WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d', true],
    ['SELECT * FROM t', false],
    ['EXPLAIN DELETE FROM t', false],
    ['EXPLAIN ANALYZE DELETE FROM t', true],
  ])('%s: whereless %s', (sql, whereless) => {
    expect(one(sql).whereless).toBe(whereless);
  });

  test('COPY to or from programs and server files', () => {
    expect(one("COPY t FROM PROGRAM 'x'")).toMatchObject({ copyProgram: true, copyFile: false });
    expect(one("COPY (SELECT 1) TO PROGRAM 'x'")).toMatchObject({ copyProgram: true, copyFile: false });
    expect(one("COPY t TO '/tmp/x'")).toMatchObject({ copyProgram: false, copyFile: true });
    expect(one('COPY t FROM STDIN')).toMatchObject({ copyProgram: false, copyFile: false });
  });
});

describe('wrappers', () => {
  test('EXPLAIN ANALYZE is the statement it runs; plain EXPLAIN reads what the statement touches', () => {
    expect(one('EXPLAIN ANALYZE DELETE FROM t WHERE a = 1')).toMatchObject({ kind: 'delete', writes: ['public.t'], wrapper: 'explain-analyze' });
    expect(one('EXPLAIN (ANALYZE, FORMAT JSON) UPDATE t SET a = 1 WHERE b = 1')).toMatchObject({ kind: 'update', wrapper: 'explain-analyze' });
    expect(one('EXPLAIN (ANALYZE on) DELETE FROM t WHERE a = 1').kind).toBe('delete');
    expect(one('EXPLAIN (ANALYZE 1) DELETE FROM t WHERE a = 1').kind).toBe('delete');
    for (const off of ['false', 'off', '0', 'FALSE']) {
      expect(one(`EXPLAIN (ANALYZE ${off}) DELETE FROM t WHERE a = 1`)).toMatchObject({ kind: 'explain', reads: ['public.t'], writes: [] });
    }
    const plain = one("EXPLAIN INSERT INTO t SELECT f() FROM u WHERE set_config('role', 'x', false) IS NULL");
    expect(plain).toMatchObject({ kind: 'explain', kinds: ['explain'], writes: [], settings: [] });
    expect([...plain.reads].sort()).toEqual(['public.t', 'public.u']);
    expect([...plain.functions].sort()).toEqual(['f', 'set_config']);
    expect(plain.wrapper).toBeUndefined();
  });

  test('PREPARE is its statement, EXECUTE and DEALLOCATE name the prepared statement, DECLARE is its query', () => {
    expect(one('PREPARE p(int) AS DELETE FROM t WHERE id = $1')).toMatchObject({ kind: 'delete', wrapper: 'prepare', preparedName: 'p' });
    expect(one('EXECUTE p(1)')).toMatchObject({ kind: 'execute', preparedName: 'p' });
    expect(one('DEALLOCATE p')).toMatchObject({ kind: 'deallocate', preparedName: 'p' });
    expect(one('DEALLOCATE ALL').preparedName).toBeUndefined();
    expect(one('DECLARE c CURSOR FOR SELECT * FROM t')).toMatchObject({ kind: 'select', reads: ['public.t'], wrapper: 'declare-cursor' });
  });
});

describe('splitting, errors and the cache', () => {
  test('a string is split into statements, each with its own text (byte offsets, multi-byte text)', () => {
    const a = analyze("SELECT 'żółw'; /* ü */ DELETE FROM t WHERE a = 'é';");
    expect(a.statements.map((s) => s.sql)).toEqual(["SELECT 'żółw'", "DELETE FROM t WHERE a = 'é'"]);
    expect(a.statements.map((s) => s.kind)).toEqual(['select', 'delete']);
  });

  test('empty text and comment-only text hold no statements', () => {
    for (const sql of ['', '   ', ';', '-- x', '/* a /* b */ */']) expect(analyze(sql)).toEqual({ statements: [] });
  });

  test('a syntax error is reported, with no statements', () => {
    const a = analyze('SELEC 1');
    expect(a.statements).toEqual([]);
    expect(a.error).toMatch(/syntax error/);
  });

  test('a tree too deep to analyse is one unclassified statement, not a syntax error', () => {
    const a = analyze(`SELECT ${Array(20_000).fill('1').join('+')}`);
    expect(a.error).toBeUndefined();
    expect(a.statements).toHaveLength(1);
    expect(a.statements[0]!.unclassified).toMatch(/nested too deeply/);
  });

  test('a statement type the analyzer does not know would be unclassified', async () => {
    const { analyzeStatement } = await import('../../src/policy/analyze-statement.js');
    const s = analyzeStatement('RepackStmt', {}, 'REPACK t', {});
    expect(s.kind).toBe('unknown');
    expect(s.unclassified).toMatch(/RepackStmt/);
  });

  test('results are cached by exact text and frozen', () => {
    const a = analyze('SELECT * FROM cached_t');
    expect(analyze('SELECT * FROM cached_t')).toBe(a);
    expect(analyze('SELECT * FROM cached_t ')).not.toBe(a);
    expect(Object.isFrozen(a.statements[0])).toBe(true);
    expect(Object.isFrozen(a.statements[0]!.reads)).toBe(true);
  });
});
