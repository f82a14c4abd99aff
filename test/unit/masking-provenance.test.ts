import { describe, expect, test } from 'vitest';
import { analyze, loadParser, type AnalyzedStatement } from '../../src/policy/index.js';
import {
  analyzeMaskedFlow, buildColumnPlan, buildCopyPlan, compileMasking, maskingDenial, redactAllLiterals, redactForAudit,
  redactParams, redactQueryForAudit, type FlowOptions, type MaskFlow, type ResultColumn,
} from '../../src/masking/index.js';

const KEY = Buffer.alloc(32, 3);
const policy = compileMasking(
  [
    {
      columns: {
        'customers.ssn': 'redact',
        'customers.email': 'email',
        'customers.card': { partial: 4 },
        'customers.phone': 'hash',
        'customers.secret_note': 'null',
        'billing.accounts.iban': 'redact',
      },
      detectors: ['email'],
    },
  ],
  KEY,
);
const TEXT = 25;
const INT4 = 23;

// Top level: some cases parse SQL while the suite is collected.
await loadParser();

function stmt(sql: string): AnalyzedStatement {
  const a = analyze(sql);
  expect(a.error, sql).toBeUndefined();
  expect(a.statements.length, sql).toBe(1);
  return a.statements[0]!;
}

function flowOf(sql: string, options?: FlowOptions): MaskFlow {
  return analyzeMaskedFlow(stmt(sql), policy, options);
}

/** What each output column carries: origins joined, '?' for unknown, '' for clean. */
function carried(flow: MaskFlow): string[] {
  const show = (t: { origins: readonly string[]; unknown: boolean }) => [...t.origins.map((o) => o.replace(/^public\./, '')), ...(t.unknown ? ['?'] : [])].join('+');
  const out = flow.output;
  if (!out) return ['<no rows>'];
  return [...out.head.map((c) => show(c.taint)), ...(out.middle ? [`*${show(out.middle)}`] : []), ...out.tail.map((c) => show(c.taint))];
}

describe('which output columns carry masked data', () => {
  test.each([
    ['SELECT ssn AS x, name FROM customers', ['customers.ssn', '']],
    ['SELECT c.email FROM customers c', ['customers.email']],
    ['SELECT upper(ssn) || name, length(card) FROM customers', ['customers.ssn', 'customers.card']],
    ['SELECT coalesce(ssn, email) FROM customers', ['customers.ssn+customers.email']],
    ['SELECT x FROM (SELECT ssn AS x FROM customers) s', ['customers.ssn']],
    ['SELECT b FROM (SELECT ssn, email FROM customers) s(a, b)', ['customers.email']],
    ['WITH t(a, b) AS (SELECT name, ssn FROM customers) SELECT b, a FROM t', ['customers.ssn', '']],
    ['WITH t AS (SELECT ssn AS s FROM customers), u AS (SELECT s AS v FROM t) SELECT v FROM u', ['customers.ssn']],
    ['SELECT name FROM customers UNION ALL SELECT email FROM customers', ['customers.email']],
    ['SELECT name, 1 FROM customers UNION ALL SELECT name, 2 FROM customers', ['', '']],
    ['SELECT c FROM customers c', ['customers.ssn+customers.email+customers.card+customers.phone+customers.secret_note']],
    ['SELECT count(*), max(id) FROM customers', ['', '']],
    ['SELECT (SELECT max(ssn) FROM customers)', ['customers.ssn']],
    ['SELECT EXISTS (SELECT 1 FROM customers)', ['']],
    ['SELECT ARRAY(SELECT email FROM customers)', ['customers.email']],
    ["SELECT json_build_object('k', phone) FROM customers", ['customers.phone']],
    ['SELECT to_jsonb(c.*) FROM customers c', ['customers.ssn+customers.email+customers.card+customers.phone+customers.secret_note']],
    ['SELECT v.x FROM customers c, LATERAL (VALUES (c.card)) v(x)', ['customers.card']],
    ['SELECT iban FROM billing.accounts', ['billing.accounts.iban']],
    ['SELECT iban FROM accounts', ['']],
    ['SELECT o.ssn FROM orders o', ['']],
    ['SELECT ssn FROM orders o, customers c', ['customers.ssn']],
    ['SELECT secret FROM secrets_fn()', ['?']],
    ['SELECT my_func(id) FROM customers', ['?']],
    ['SELECT now(), current_user, gen_random_uuid()', ['', '', '']],
    ["SELECT created_at AT TIME ZONE 'UTC' FROM customers", ['']],
  ])('%s', (sql, expected) => expect(carried(flowOf(sql))).toEqual(expected));

  test('a CTE named like a table hides the table; a CTE reading its own name reads the table', () => {
    expect(carried(flowOf('WITH customers AS (SELECT 1 AS ssn) SELECT ssn FROM customers'))).toEqual(['']);
    expect(carried(flowOf('WITH customers AS (SELECT ssn FROM customers) SELECT ssn FROM customers'))).toEqual(['customers.ssn']);
  });

  test('a recursive CTE carries what it reads to a fixpoint', () => {
    const sql = 'WITH RECURSIVE r(n, v) AS (SELECT 1, name FROM customers UNION ALL SELECT n + 1, ssn FROM r, customers WHERE n < 3) SELECT v, n FROM r';
    expect(carried(flowOf(sql))).toEqual(['customers.ssn', '']);
  });

  test('a * over a base table without its column order leaves a middle of unknown positions', () => {
    expect(carried(flowOf('SELECT id, *, upper(email) FROM customers'))).toEqual([
      '',
      '*customers.ssn+customers.email+customers.card+customers.phone+customers.secret_note',
      'customers.email',
    ]);
  });

  test('with the column order from the catalog, * maps to positions', () => {
    const tableColumns = new Map([['public.customers', ['id', 'name', 'ssn', 'email']]]);
    expect(carried(flowOf('SELECT * FROM customers', { tableColumns }))).toEqual(['', '', 'customers.ssn', 'customers.email']);
    expect(carried(flowOf('SELECT x.* FROM customers AS x(a, b, c)', { tableColumns }))).toEqual(['', '', 'customers.ssn', 'customers.email']);
    // JOIN ... USING merges columns: positions can no longer be trusted
    expect(flowOf('SELECT * FROM customers JOIN customers c2 USING (id)', { tableColumns }).output?.middle).toBeDefined();
  });

  test('RETURNING of INSERT, UPDATE and DELETE', () => {
    expect(carried(flowOf("INSERT INTO customers (id, ssn) VALUES (1, 'x') RETURNING id, ssn"))).toEqual(['', 'customers.ssn']);
    expect(carried(flowOf('UPDATE customers SET name = name RETURNING email, old.card, new.phone'))).toEqual([
      'customers.email',
      'customers.card',
      'customers.phone',
    ]);
    expect(flowOf('DELETE FROM customers RETURNING *').output?.middle?.origins).toContain('public.customers.ssn');
    expect(flowOf('DELETE FROM customers').output?.head).toEqual([]);
  });
});

describe('views', () => {
  const views = new Map([
    ['public.people', stmt('SELECT id, ssn AS s, upper(email) AS e FROM customers')],
    ['public.people2', stmt('SELECT s AS t FROM people')],
  ]);

  test('the relations read are listed so the gateway can look views up; definitions given are followed', () => {
    const first = flowOf('SELECT * FROM people2 p');
    expect(first.relations).toEqual(['public.people2']);
    const second = flowOf('SELECT * FROM people2 p', { views });
    expect(second.relations).toContain('public.people');
    expect(second.relations).toContain('public.customers');
    expect(carried(second)).toEqual(['customers.ssn']);
    expect(second.views).toEqual(expect.arrayContaining(['public.people', 'public.people2']));
  });

  test('a view column as RowDescription names it carries what the view computes', () => {
    const flow = flowOf('SELECT * FROM people', { views });
    expect(flow.sourceTaint('public.people', 'e').origins).toEqual(['public.customers.email']);
    expect(flow.sourceTaint('public.people', 'id').origins).toEqual([]);
    expect(flow.sourceTaint('public.customers', 'card').origins).toEqual(['public.customers.card']);
  });

  test('a view whose definition is not available counts as masked through and through', () => {
    const flow = flowOf('SELECT id FROM people', { opaqueRelations: new Set(['public.people']) });
    expect(flow.output?.head[0]?.taint.unknown).toBe(true);
    expect(flow.sourceTaint('public.people', 'id').unknown).toBe(true);
  });

  test("the view's own filters are the view author's, not an oracle; what it would refuse still counts", () => {
    const filtered = new Map([['public.vip', stmt("SELECT id, name FROM customers WHERE ssn LIKE '9%'")]]);
    expect(flowOf('SELECT * FROM vip', { views: filtered }).filterOnMasked).toBeUndefined();
    const casting = new Map([['public.bad', stmt('SELECT ssn::int AS n FROM customers')]]);
    expect(flowOf('SELECT * FROM bad', { views: casting }).refusal?.message).toMatch(/in view public\.bad/);
  });
});

describe('filters on masked columns', () => {
  test.each([
    ["SELECT id FROM customers WHERE ssn = '1'", 'WHERE'],
    ['SELECT id FROM customers c JOIN orders o ON o.email = c.email', 'JOIN ... ON'],
    ['SELECT id FROM customers JOIN customers c2 USING (card)', 'JOIN ... USING'],
    ['SELECT id FROM customers ORDER BY phone', 'ORDER BY'],
    ['SELECT id, email AS e FROM customers ORDER BY e', 'ORDER BY'],
    ['SELECT id, email FROM customers ORDER BY 2', 'ORDER BY'],
    ['SELECT count(*) FROM customers GROUP BY ssn', 'GROUP BY'],
    ["SELECT count(*) FROM customers HAVING max(ssn) > 'a'", 'HAVING'],
    ['SELECT rank() OVER (PARTITION BY email) FROM customers', 'PARTITION BY'],
    ['SELECT rank() OVER (ORDER BY card) FROM customers', 'a window ORDER BY'],
    ['SELECT sum(id) OVER w FROM customers WINDOW w AS (ORDER BY ssn)', 'a window ORDER BY'],
    ["SELECT count(*) FILTER (WHERE email LIKE 'a%') FROM customers", 'an aggregate FILTER'],
    ['SELECT DISTINCT ON (ssn) id FROM customers', 'DISTINCT ON'],
    ['SELECT DISTINCT ssn FROM customers', 'DISTINCT'],
    ["SELECT ssn FROM customers UNION SELECT 'x'", 'UNION'],
    ["SELECT ssn FROM customers INTERSECT SELECT 'x'", 'INTERSECT'],
    ["SELECT CASE WHEN ssn LIKE '1%' THEN 1 END FROM customers", 'CASE WHEN'],
    ['SELECT id FROM customers LIMIT (SELECT length(ssn) FROM customers LIMIT 1)', 'LIMIT'],
    ["SELECT id FROM orders WHERE cid IN (SELECT id FROM customers WHERE ssn = 'x')", 'WHERE'],
    ['SELECT id FROM customers c WHERE EXISTS (SELECT 1 FROM orders o WHERE o.x = c.card)', 'WHERE'],
    ["UPDATE customers SET name = 'n' WHERE email = 'x'", 'WHERE'],
    ["DELETE FROM customers WHERE ssn LIKE '1%'", 'WHERE'],
    ['SELECT count(*) FROM customers c, unnest(ARRAY[c.ssn, c.email]) p', 'set-returning function unnest()'],
    ['SELECT id FROM customers NATURAL JOIN orders', 'NATURAL JOIN'],
    ["SELECT id FROM people WHERE x = 'y'", 'WHERE'],
  ])('%s', (sql, clause) => {
    const flow = flowOf(sql, { opaqueRelations: new Set(['public.people']) });
    expect(flow.filterOnMasked?.clause).toBe(clause);
    expect(maskingDenial(flow, policy)?.code).toBe('AGENTDB_ERR_MASKING_FILTER');
  });

  test('filters on unmasked columns, and on masked ones where the role allows them, pass', () => {
    expect(flowOf("SELECT ssn FROM customers WHERE id = 1 AND name LIKE 'a%' ORDER BY id").filterOnMasked).toBeUndefined();
    const allowing = compileMasking([{ columns: { 'customers.ssn': 'redact' }, filters: 'allow' }], KEY);
    const flow = analyzeMaskedFlow(stmt("SELECT id FROM customers WHERE ssn = '1'"), allowing);
    expect(flow.filterOnMasked).toBeDefined();
    expect(maskingDenial(flow, allowing)).toBeUndefined();
  });

  test('the denial names the column and the clause', () => {
    expect(maskingDenial(flowOf('SELECT id FROM customers ORDER BY email'), policy)?.message).toMatch(
      /public\.customers\.email is masked for this session and cannot be used in ORDER BY/,
    );
  });
});

describe('refusals: what masking the result cannot undo', () => {
  test.each([
    ['SELECT ssn::int FROM customers', 'cast', /cast to int4/],
    ['SELECT CAST(email AS date) FROM customers', 'cast', /cast to date/],
    ['SELECT ssn::text[] FROM customers', 'cast', /text\[\]/],
    ["SELECT to_date(ssn, 'YYYY') FROM customers", 'function', /to_date\(\)/],
    ["SELECT set_config('x.y', ssn, false) FROM customers", 'function', /set_config\(\)/],
    ["SELECT pg_notify('c', email) FROM customers", 'function', /pg_notify/],
    ['SELECT my_func(ssn) FROM customers', 'function', /my_func\(\) is not known/],
    ['SELECT xmlparse(content ssn) FROM customers', 'function', /XMLPARSE/],
    ['UPDATE customers SET name = ssn', 'write', /written to public\.customers\.name/],
    ['UPDATE customers SET (name, ssn) = (email, ssn)', 'write', /public\.customers\.name/],
    ['INSERT INTO orders SELECT email FROM customers', 'write', /public\.orders/],
    ['INSERT INTO customers (id, email) SELECT id, ssn FROM customers', 'write', /public\.customers\.email/],
    ['CREATE TABLE x AS SELECT card FROM customers', 'write', /CREATE TABLE AS/],
    ['CREATE MATERIALIZED VIEW mx AS SELECT card FROM customers', 'write', /MATERIALIZED VIEW/],
    ['SELECT phone INTO tmp_x FROM customers', 'write', /SELECT INTO/],
    ['INSERT INTO customers (id) VALUES (1) ON CONFLICT (id) DO UPDATE SET name = customers.ssn', 'write', /name/],
    ['MERGE INTO orders o USING customers c ON o.id = c.id WHEN NOT MATCHED THEN INSERT (note) VALUES (c.email)', 'write', /orders\.note/],
    ['SELECT most_common_vals FROM pg_stats', 'statistics', /pg_stats/],
    ["DO $$ BEGIN PERFORM 1; END $$", 'code', /DO block/],
    ["COPY (SELECT ssn FROM customers) TO '/tmp/x'", 'copy', /file/],
    ["COPY customers (ssn) TO STDOUT WITH (ENCODING 'LATIN1')", 'copy', /ENCODING/],
  ])('%s', (sql, reason, message) => {
    const flow = flowOf(sql);
    expect(flow.refusal?.reason).toBe(reason);
    expect(flow.refusal?.message).toMatch(message);
    expect(maskingDenial(flow, policy)?.code).toBe('AGENTDB_ERR_MASKING_REFUSED');
  });

  test('masked data may go back into the column it came from; literals may be written anywhere', () => {
    expect(flowOf('UPDATE customers SET ssn = upper(ssn)').refusal).toBeUndefined();
    expect(flowOf("UPDATE customers SET ssn = '1', name = 'x'").refusal).toBeUndefined();
    expect(flowOf('SELECT ssn::text, ssn::varchar, ssn::char(3) FROM customers').refusal).toBeUndefined();
    // text -> bytea refuses a backslash not followed by a valid escape: whether it fails tells about the value
    expect(flowOf('SELECT email::bytea FROM customers').refusal?.reason).toBe('cast');
    expect(flowOf('SELECT length(ssn)::bigint FROM customers').refusal?.reason).toBe('cast');
  });

  test('a statement the walk cannot follow fails closed', () => {
    let node: Record<string, unknown> = { ColumnRef: { fields: [{ String: { sval: 'ssn' } }] } };
    for (let i = 0; i < 200_000; i++) node = { A_Expr: { kind: 'AEXPR_OP', lexpr: node, rexpr: { A_Const: { ival: { ival: 1 } } } } };
    const deep = { ...stmt('SELECT 1'), node: { SelectStmt: { targetList: [{ ResTarget: { val: node } }], fromClause: [{ RangeVar: { relname: 'customers' } }] } } };
    const flow = analyzeMaskedFlow(deep, policy);
    expect(flow.refusal?.reason).toBe('analysis');
    expect(flow.output?.middle?.unknown).toBe(true);
    expect(maskingDenial(flow, policy)?.message).toMatch(/nested too deeply/);
  });
});

describe('prepared statements, cursors, COPY', () => {
  test('EXECUTE and FETCH take the flow of what PREPARE and DECLARE defined; unknown ones are of unknown origin', () => {
    const prepared = flowOf('PREPARE p(text) AS SELECT email, name FROM customers WHERE id = $1');
    expect(prepared.prepared).toBe('p');
    const cursor = flowOf('DECLARE cur CURSOR FOR SELECT name, card FROM customers');
    expect(cursor.cursor).toBe('cur');
    expect(carried(flowOf("EXECUTE p('1')", { prepared: new Map([['p', prepared]]) }))).toEqual(['customers.email', '']);
    expect(carried(flowOf('FETCH 10 FROM cur', { cursors: new Map([['cur', cursor]]) }))).toEqual(['', 'customers.card']);
    expect(carried(flowOf("EXECUTE q('1')"))).toEqual(['*?']);
    expect(carried(flowOf('FETCH ALL FROM nope'))).toEqual(['*?']);
    expect(flowOf('MOVE 5 IN cur').output).toBeUndefined();
  });

  test('EXECUTE inherits the refusal of what it runs, and redacts the values of its sensitive parameters', () => {
    const prepared = flowOf('PREPARE f(text) AS SELECT id FROM customers WHERE ssn = $1');
    expect(prepared.sensitiveParams).toEqual([1]);
    const flow = flowOf("EXECUTE f('123-45-6789')", { prepared: new Map([['f', prepared]]) });
    expect(flow.filterOnMasked?.clause).toBe('WHERE');
    expect(redactForAudit("EXECUTE f('123-45-6789')", flow)).toBe("EXECUTE f('***')");
    // a prepared statement the gateway never saw: every value is redacted
    expect(redactForAudit("EXECUTE g('a', 2)", flowOf("EXECUTE g('a', 2)"))).toBe("EXECUTE g('***', '***')");
  });

  test('COPY options come from the parse tree, both spellings', () => {
    // ESCAPE E'\\' rather than '\': a backslash before a quote in a '...' string is refused (it would read differently
    // with standard_conforming_strings off).
    const a = flowOf("COPY customers (id, email) TO STDOUT CSV HEADER DELIMITER ';' NULL 'x' QUOTE '''' ESCAPE E'\\\\'").copy;
    expect(a?.options).toEqual({ format: 'csv', delimiter: ';', null: 'x', quote: "'", escape: '\\', header: true });
    expect(a?.columns?.map((c) => c.name)).toEqual(['id', 'email']);
    expect(a?.columns?.[1]?.taint.origins).toEqual(['public.customers.email']);
    const b = flowOf('COPY customers TO STDOUT (FORMAT binary)').copy;
    expect(b?.options.format).toBe('binary');
    expect(b?.columns).toBeUndefined();
    expect(flowOf('COPY (SELECT 1) TO STDOUT').copy?.options).toMatchObject({ format: 'text', delimiter: '\t', null: '\\N', header: false });
    expect(flowOf('COPY customers FROM STDIN').copy?.direction).toBe('from');
  });

  test('COPY table TO STDOUT needs its columns when it carries masked data', () => {
    const blind = flowOf('COPY customers TO STDOUT').copy!;
    const refused = buildCopyPlan(blind, 5, policy);
    expect('refusal' in refused && refused.refusal.code).toBe('AGENTDB_ERR_MASKING_COPY_COLUMNS');
    const known = flowOf('COPY customers TO STDOUT', { tableColumns: new Map([['public.customers', ['id', 'ssn', 'email']]]) }).copy!;
    const plan = buildCopyPlan(known, 3, policy);
    expect('plan' in plan && plan.plan.map((p) => p.action)).toEqual(['scan', 'mask', 'mask']);
    // a table without masked columns needs nothing
    const orders = buildCopyPlan(flowOf('COPY orders TO STDOUT').copy!, 4, policy);
    expect('plan' in orders && orders.plan.every((p) => p.action === 'scan')).toBe(true);
  });
});

describe('literals and parameters kept out of the audit log', () => {
  test.each([
    ["SELECT id FROM customers WHERE ssn = '123-45-6789' AND id = 5", "SELECT id FROM customers WHERE ssn = '***' AND id = 5"],
    ["SELECT id FROM customers WHERE email IN ('a@x', 'b@y')", "SELECT id FROM customers WHERE email IN ('***', '***')"],
    ["SELECT id FROM customers WHERE card BETWEEN '4000' AND '4999'", "SELECT id FROM customers WHERE card BETWEEN '***' AND '***'"],
    ["SELECT id FROM customers WHERE upper(email) LIKE E'A\\'%'", "SELECT id FROM customers WHERE upper(email) LIKE '***'"],
    ["SELECT id FROM customers WHERE ssn = ANY('{1,2}')", "SELECT id FROM customers WHERE ssn = ANY('***')"],
    ['SELECT id FROM customers WHERE phone = $$+1 555$$', "SELECT id FROM customers WHERE phone = '***'"],
    ['SELECT id FROM customers WHERE phone = $q$a$b$q$', "SELECT id FROM customers WHERE phone = '***'"],
    ["SELECT id FROM customers WHERE ssn = 'a'\n  'b'", "SELECT id FROM customers WHERE ssn = '***'"],
    ['SELECT id FROM customers WHERE card = -4111', "SELECT id FROM customers WHERE card = '***'"],
    ["SELECT id FROM customers WHERE ssn = 'x'::text", "SELECT id FROM customers WHERE ssn = '***'::text"],
    ["SELECT 'é' AS a, id FROM customers WHERE email = 'ü@x.de'", "SELECT 'é' AS a, id FROM customers WHERE email = '***'"],
    ["UPDATE customers SET ssn = '1', name = 'n' WHERE id = 2", "UPDATE customers SET ssn = '***', name = 'n' WHERE id = 2"],
    ["INSERT INTO customers (id, email, name) VALUES (1, 'a@b', 'n'), (2, 'c@d', 'm')", "INSERT INTO customers (id, email, name) VALUES (1, '***', 'n'), (2, '***', 'm')"],
    ["INSERT INTO customers VALUES (1, 'a')", "INSERT INTO customers VALUES ('***', '***')"],
    ["INSERT INTO customers (id, card) SELECT 1, '4111'", "INSERT INTO customers (id, card) SELECT 1, '***'"],
    ["INSERT INTO customers (id) VALUES (1) ON CONFLICT (id) DO UPDATE SET email = 'z@z'", "INSERT INTO customers (id) VALUES (1) ON CONFLICT (id) DO UPDATE SET email = '***'"],
    ["SELECT ssn FROM customers INTERSECT SELECT '123'", "SELECT ssn FROM customers INTERSECT SELECT '***'"],
    ["SELECT id FROM customers WHERE id = 1 AND name = 'bob'", "SELECT id FROM customers WHERE id = 1 AND name = 'bob'"],
  ])('%s', (sql, audited) => expect(redactForAudit(stmt(sql).sql, flowOf(sql))).toBe(audited));

  test('bound parameters compared with or written into masked columns', () => {
    const flow = flowOf('SELECT id FROM customers WHERE email = $2 AND id = $1 OR ssn LIKE $3');
    expect(flow.sensitiveParams).toEqual([2, 3]);
    expect(redactParams(['5', 'a@b.c', '1%', null], flow)).toEqual(['5', '***', '***', null]);
    expect(flowOf('UPDATE customers SET card = $1 WHERE id = $2').sensitiveParams).toEqual([1]);
    expect(flowOf('INSERT INTO customers (id, phone) VALUES ($1, $2)').sensitiveParams).toEqual([2]);
    expect(redactParams(['x'], flowOf('SELECT $1::text'))).toEqual(['x']);
  });

  test('in a string of several statements each is redacted at its own place', () => {
    const sql = "  SELECT 'é'; SELECT id FROM customers WHERE ssn = 'a' ;\n UPDATE customers SET email = 'b' WHERE id = 1";
    const parts = analyze(sql).statements.map((s) => ({ stmt: s, flow: analyzeMaskedFlow(s, policy) }));
    expect(parts[1]!.flow.sensitiveLiterals.length).toBe(1);
    expect(redactQueryForAudit(sql, parts)).toBe("  SELECT 'é'; SELECT id FROM customers WHERE ssn = '***' ;\n UPDATE customers SET email = '***' WHERE id = 1");
  });

  test('redactAllLiterals replaces every literal and nothing else', () => {
    expect(redactAllLiterals(`SELECT "it's", 'a''b', E'c\\'d', 1.5e3, x1, $1, $t$z$t$ -- 'comment'\n/* 'c' */ FROM t`)).toBe(
      `SELECT "it's", '***', '***', '***', x1, $1, '***' -- 'comment'\n/* 'c' */ FROM t`,
    );
  });

  test('a line comment ends at a carriage return too: the literal after it is redacted', () => {
    expect(redactAllLiterals("SELECT 1 -- note\r, 'LEAK' FROM t")).toBe("SELECT '***' -- note\r, '***' FROM t");
  });
});

describe('column plans', () => {
  const col = (name: string, typeOid = TEXT, source?: ResultColumn['source'], format = 0): ResultColumn => ({ name, typeOid, format, source });
  const actions = (r: ReturnType<typeof buildColumnPlan>) => ('plan' in r ? r.plan.map((p) => (p.action === 'mask' ? `mask:${p.strategy.kind}` : p.action)) : r.refusal.code);
  const customers = (column: string) => ({ relation: 'public.customers', column });

  test('a direct column keeps its strategy; a derived one is redacted; a derived non-text one becomes NULL', () => {
    const flow = flowOf('SELECT email, upper(email), length(email), card, secret_note, upper(secret_note), name, id FROM customers');
    const plan = buildColumnPlan(
      [col('email', TEXT, customers('email')), col('upper'), col('length', INT4), col('card', TEXT, customers('card')), col('secret_note', TEXT, customers('secret_note')), col('upper'), col('name', TEXT, customers('name')), col('id', INT4, customers('id'))],
      flow,
      policy,
    );
    expect(actions(plan)).toEqual(['mask:email', 'mask:redact', 'null', 'mask:partial', 'null', 'null', 'scan', 'pass']);
  });

  test('RowDescription origin masks a column whatever its name (SELECT ssn AS x), even where positions are unknown', () => {
    const flow = flowOf('SELECT * FROM customers');
    const plan = buildColumnPlan([col('id', INT4, customers('id')), col('x', TEXT, customers('ssn')), col('e', TEXT, customers('email'))], flow, policy);
    expect(actions(plan)).toEqual(['pass', 'mask:redact', 'mask:email']);
  });

  test('computed columns in an unknown middle carry what the middle may carry', () => {
    const flow = flowOf('SELECT id, *, upper(name) FROM customers, LATERAL (SELECT ssn || email AS mix) s');
    const plan = buildColumnPlan([col('id', INT4, customers('id')), col('ssn', TEXT, customers('ssn')), col('mix'), col('upper')], flow, policy);
    expect(actions(plan)).toEqual(['pass', 'mask:redact', 'mask:redact', 'scan']);
  });

  test('unknown origin: text is masked, other types refuse the statement with the column named', () => {
    const flow = flowOf('SELECT my_text_func(), my_int_func()');
    expect(actions(buildColumnPlan([col('my_text_func')], flowOf('SELECT my_text_func()'), policy))).toEqual(['mask:redact']);
    const refused = buildColumnPlan([col('my_text_func'), col('my_int_func', INT4)], flow, policy);
    expect('refusal' in refused && refused.refusal.message).toMatch(/result column "my_int_func" may carry masked data \(a value of unknown origin \(function my_int_func\(\)\)\)/);
  });

  test('binary format: text-like types carry the mask, others become NULL', () => {
    const flow = flowOf('SELECT ssn, length(ssn), to_jsonb(email), array_agg(ssn), to_jsonb(c) FROM customers c GROUP BY ssn, c.*');
    const plan = buildColumnPlan(
      [col('ssn', TEXT, customers('ssn'), 1), col('length', INT4, undefined, 1), col('to_jsonb', 3802, undefined, 1), col('array_agg', 1009, undefined, 1), col('to_jsonb', 3802, undefined, 1)],
      flow,
      policy,
    );
    // the whole row holds secret_note, whose strategy is null: what derives from it is NULL too
    expect(actions(plan)).toEqual(['mask:redact', 'null', 'mask:redact', 'null', 'null']);
  });

  test('a source the catalog could not resolve, or a view without its definition, counts as unknown', () => {
    const flow = flowOf('SELECT a FROM somewhere');
    expect(actions(buildColumnPlan([col('a', TEXT, null)], flow, policy))).toEqual(['mask:redact']);
    expect(actions(buildColumnPlan([col('a', TEXT, { relation: 'public.somewhere', column: 'a', view: true })], flow, policy))).toEqual(['mask:redact']);
    expect(actions(buildColumnPlan([col('a', TEXT, { relation: 'public.somewhere', column: 'a' })], flow, policy))).toEqual(['scan']);
  });

  test('without a flow, every computed column is of unknown origin', () => {
    expect(actions(buildColumnPlan([col('a'), col('id', INT4, customers('id'))], undefined, policy))).toEqual(['mask:redact', 'pass']);
  });

  test('a result whose width does not match the flow trusts only origins and what any column may carry', () => {
    const flow = flowOf('SELECT name, upper(ssn) FROM customers');
    expect(actions(buildColumnPlan([col('a'), col('b'), col('c')], flow, policy))).toEqual(['mask:redact', 'mask:redact', 'mask:redact']);
  });

  test('a policy that masks nothing only scans (or passes) and analyses nothing', () => {
    const detectorsOnly = compileMasking([{ detectors: ['card'] }], KEY);
    const flow = analyzeMaskedFlow(stmt("SELECT ssn FROM customers WHERE ssn = '1'"), detectorsOnly);
    expect(flow.filterOnMasked).toBeUndefined();
    expect(flow.sensitiveLiterals).toEqual([]);
    expect(actions(buildColumnPlan([col('ssn'), col('id', INT4)], flow, detectorsOnly))).toEqual(['scan', 'pass']);
    const nothing = compileMasking([], KEY);
    expect(actions(buildColumnPlan([col('ssn')], analyzeMaskedFlow(stmt('SELECT 1'), nothing), nothing))).toEqual(['pass']);
  });

  test('flows are cached per statement and policy when no options are given', () => {
    const s = stmt('SELECT ssn FROM customers');
    expect(analyzeMaskedFlow(s, policy)).toBe(analyzeMaskedFlow(s, policy));
    expect(analyzeMaskedFlow(s, policy, { tableColumns: new Map() })).not.toBe(analyzeMaskedFlow(s, policy));
  });
});
