// The analyzer's and the shipped rules' assumptions, checked against the real PostgreSQL 18 of the test run.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { AGENT_SAFE_RULES, analyze, compilePolicy, loadParser } from '../../src/policy/index.js';

const schema = `policy_test_${randomBytes(4).toString('hex')}`;
let db: pg.Client;

beforeAll(async () => {
  await loadParser();
  db = new pg.Client({ connectionString: inject('pgAdminUrl') });
  await db.connect();
  await db.query(`CREATE SCHEMA ${schema}; SET search_path = ${schema}`);
  await db.query("CREATE TABLE s (v text); INSERT INTO s VALUES ('real'); CREATE TABLE t (v int); INSERT INTO t VALUES (1), (2), (3)");
});

afterAll(async () => {
  await db?.query(`RESET search_path; DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await db?.end();
});

describe('CTE scoping is what PostgreSQL does', () => {
  test('a non-recursive CTE body reads the real relation of its own name', async () => {
    const sql = 'WITH s AS (SELECT * FROM s) SELECT v FROM s';
    expect(analyze(sql).statements[0]!.reads).toEqual(['public.s']);
    expect((await db.query(sql)).rows).toEqual([{ v: 'real' }]);
  });

  test('a CTE inside a subquery does not hide the outer relation', async () => {
    const sql = "SELECT q.v AS cte, s.v AS outer_v FROM (WITH s AS (SELECT 'cte' AS v) SELECT v FROM s) q, s";
    expect(analyze(sql).statements[0]!.reads).toEqual(['public.s']);
    expect((await db.query(sql)).rows).toEqual([{ cte: 'cte', outer_v: 'real' }]);
  });

  test('a DML target is the real table even when a CTE has its name', async () => {
    const sql = 'WITH t AS (SELECT 1) DELETE FROM t';
    expect(analyze(sql).statements[0]).toMatchObject({ writes: ['public.t'], whereless: true });
    await db.query('BEGIN');
    try {
      expect((await db.query(sql)).rowCount).toBe(3);
    } finally {
      await db.query('ROLLBACK');
    }
  });
});

describe('settings', () => {
  test('with standard_conforming_strings off the server runs a statement the analyzer saw inside a string', async () => {
    // With it on, \'' is a backslash and an escaped quote: one literal. With it off, \' is the quote and '' ends it.
    const sql = "SELECT 'x\\'';SELECT 2 AS h;--'";
    expect(analyze(sql).statements).toHaveLength(1);
    await db.query('SET standard_conforming_strings = off');
    try {
      const results = (await db.query(sql)) as unknown as pg.QueryResult[];
      expect(results).toHaveLength(2);
      expect(results[1]!.rows).toEqual([{ h: 2 }]);
    } finally {
      await db.query('SET standard_conforming_strings = on');
    }
  });

  test('RESET ALL leaves the role alone, so a rule about the role is not about RESET ALL', async () => {
    const role = `policy_test_role_${randomBytes(4).toString('hex')}`;
    await db.query(`CREATE ROLE ${role}`);
    try {
      await db.query(`SET ROLE ${role}`);
      await db.query('RESET ALL');
      expect((await db.query('SELECT current_user AS u')).rows[0].u).toBe(role);
    } finally {
      await db.query('RESET ROLE');
      await db.query(`DROP ROLE ${role}`);
    }
  });
});

describe('the shipped agent rules name what PostgreSQL 18 has', () => {
  // Functions of extensions that the test server does not have installed, or that PostgreSQL 17 removed (adminpack).
  const FROM_EXTENSIONS = new Set(['dblink', 'dblink_*', 'http', 'http_*', 'pg_file_*', 'pg_logdir_ls', '*.pg_stat_statements*']);
  const patterns = (field: 'functions' | 'tables') => AGENT_SAFE_RULES.flatMap((r) => r.match[field] ?? []).filter((p) => !FROM_EXTENSIONS.has(p)).map((p) => (field === 'functions' ? p.replace(/^pg_catalog\./, '') : p));

  test('every function pattern matches a built-in function', async () => {
    const { rows } = await db.query<{ proname: string }>("SELECT DISTINCT proname FROM pg_proc WHERE pronamespace = 'pg_catalog'::regnamespace");
    const names = rows.map((r) => r.proname);
    const missing = patterns('functions').filter((p) => !names.some((n) => new RegExp(`^${p.replace(/\*/g, '.*')}$`).test(n)));
    expect(missing).toEqual([]);
  });

  test('every catalog pattern names a relation in pg_catalog', async () => {
    const { rows } = await db.query<{ relname: string }>("SELECT relname FROM pg_class WHERE relnamespace = 'pg_catalog'::regnamespace");
    const names = new Set(rows.map((r) => `pg_catalog.${r.relname}`));
    expect(patterns('tables').filter((p) => !names.has(p))).toEqual([]);
  });

  test('every built-in function that reads server files, signals backends or runs SQL from a string is refused', async () => {
    const { rows } = await db.query<{ proname: string }>(`
      SELECT DISTINCT proname FROM pg_proc WHERE pronamespace = 'pg_catalog'::regnamespace AND (
        proname ~ '^pg_(read_|ls_|stat_file$)' OR proname ~ '^lo_' OR proname ~ '_backend$' OR proname ~ 'to_xml'
        OR proname ~ '^pg_(reload_conf|rotate_logfile|promote|switch_wal|sleep)'
        OR proname ~ '^pg_(create|drop|copy|sync)_.*replication_slots?$' OR proname ~ '^pg_replication_(slot|origin)_')`);
    expect(rows.length).toBeGreaterThan(30);
    const policy = compilePolicy({});
    const allowed = rows
      .map((r) => r.proname)
      .filter((name) => policy.decideAnalysis({ name: 'a', kind: 'agent', roles: [] }, analyze(`SELECT ${name}()`)).rule === 'default');
    expect(allowed).toEqual([]);
  });
});
