// Rules: their config schema, how lists read for allow and for deny/review, the order across roles, the
// built-in steps (forced settings, unclassified statements, defaults per identity kind).
import { beforeAll, describe, expect, test } from 'vitest';
import { z } from 'zod';
import {
  AGENT_SAFE_RULES, analyze, compilePolicy, loadParser, roleSchema, type Decision, type RoleInput,
} from '../../src/policy/index.js';
import { parseConfig } from '../../src/server/config.js';

beforeAll(loadParser);

const rolesOf = (input: Record<string, RoleInput>) => z.record(z.string(), roleSchema).parse(input);
const agent = (...roles: string[]) => ({ name: 'a', kind: 'agent', roles });
const human = (...roles: string[]) => ({ name: 'h', kind: 'human', roles });

/** Decides a whole string under one role holding `rules` (no agent-safe defaults unless asked). */
function decider(rules: RoleInput['rules'], extra: Partial<RoleInput> = {}) {
  const policy = compilePolicy(rolesOf({ r: { defaults: 'none', rules, ...extra } }));
  return (sql: string, who = agent('r')): Decision => policy.decideAnalysis(who, analyze(sql));
}

describe('the rule schema', () => {
  test.each([
    [{ rules: [{ name: 'x', action: 'allow', match: { table: ['t'] } }] }, /table/],
    [{ rules: [{ name: 'x', action: 'allow', match: { kinds: ['selects'] } }] }, /kinds/],
    [{ rules: [{ name: 'x', action: 'permit' }] }, /action/],
    [{ rules: [{ name: 'has space', action: 'deny' }] }, /rule name/],
    [{ rules: [{ name: 'x', action: 'deny', match: { reads: [] } }] }, /reads/],
    [{ rules: [{ name: 'x', action: 'deny', match: { reads: [' '] } }] }, /empty/],
    [{ rules: [{ name: 'x', action: 'deny', match: { writesMoreThan: -1 } }] }, /writesMoreThan/],
    [{ rules: [{ name: 'x', action: 'deny' }, { name: 'x', action: 'allow' }] }, /used twice/],
    [{ session: { settings: { 'bad name': '1' } } }, /setting name/],
    [{ session: { settings: { 'app.region': '{{claims.region}}' } } }, /not a template/],
    [{ session: { settings: { standard_conforming_strings: 'off' } } }, /always on/],
    [{ session: { settings: { statement_timeout: '1s', Statement_Timeout: '2s' } } }, /set twice/],
    [{ budget: { rows: 0 } }, /rows/],
    [{ budget: { rows: 1.5 } }, /rows/],
    [{ review: { timeout: 'soon' } }, /duration/],
    [{ defaults: 'paranoid' }, /defaults/],
  ])('%j is refused with a message naming the problem', (role, message) => {
    const r = roleSchema.safeParse(role);
    expect(r.success).toBe(false);
    const text = r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n');
    expect(text).toMatch(message);
  });

  test('defaults fill in; names and patterns are normalised', () => {
    const role = roleSchema.parse({
      rules: [{ name: 'f', action: 'deny', match: { functions: ['PG_Read_File'], settings: ['Search_Path'] } }],
      session: { settings: { Statement_Timeout: 5000, 'app.region': '{{ traits.region }}', flag: true } },
    });
    expect(role.rules[0]!.match).toEqual({ functions: ['pg_read_file'], settings: ['search_path'] });
    expect(role.session.settings).toEqual({ statement_timeout: '5000', 'app.region': '{{ traits.region }}', flag: 'true' });
    expect(roleSchema.parse({})).toMatchObject({ rules: [], session: { settings: {} }, audit: false, maxTtl: '1h' });
  });

  test('a config file with a bad rule names the file, line and field', () => {
    const text = `auth:
  oidc: { issuer: 'https://idp.example', clientId: c, audience: a }
roles:
  bot:
    rules:
      - name: ok
        action: allow
      - name: bad
        action: allow
        match: { kinds: [select], wheres: true }
`;
    expect(() => parseConfig(text, 'agentdb.yaml')).toThrow(/agentdb\.yaml:10: roles\.bot\.rules\.1\.match: .*wheres/);
  });

  test('a review grant for an undefined database service is refused', () => {
    const text = `auth:
  oidc: { issuer: 'https://idp.example', clientId: c, audience: a }
roles:
  reviewer:
    review: { databases: [nowhere] }
`;
    expect(() => parseConfig(text, 'agentdb.yaml')).toThrow(/roles\.reviewer\.review\.databases\.0: database "nowhere" is not defined/);
  });
});

describe('lists in allow rules are whitelists', () => {
  const decide = decider([{ name: 'read', action: 'allow', match: { kinds: ['select'], reads: ['orders', 'sales.*'] } }]);

  test('every relation read must be listed', () => {
    expect(decide('SELECT * FROM orders').decision).toBe('allow');
    expect(decide('SELECT * FROM public.orders JOIN sales.q ON true').decision).toBe('allow');
    expect(decide('SELECT * FROM orders, secrets').decision).toBe('deny');
    expect(decide('SELECT 1').decision).toBe('allow');
  });

  test('every kind the statement does must be listed', () => {
    expect(decide('WITH d AS (DELETE FROM orders WHERE id = 1 RETURNING *) SELECT * FROM d').decision).toBe('deny');
    expect(decide("SELECT set_config('work_mem', '1MB', false)").decision).toBe('deny');
  });

  test('a rule naming relations covers writes too: a write not listed under writes or tables fails it', () => {
    const d = decider([{ name: 'w', action: 'allow', match: { writes: ['orders'] } }]);
    expect(d("INSERT INTO orders VALUES (1)").decision).toBe('allow');
    expect(d('INSERT INTO orders SELECT * FROM customers').decision).toBe('deny');
    expect(d('SELECT * FROM secrets').decision).toBe('deny');
    const t = decider([{ name: 't', action: 'allow', match: { tables: ['orders', 'customers'] } }]);
    expect(t('INSERT INTO orders SELECT * FROM customers').decision).toBe('allow');
  });

  test('functions and settings lists must cover every call and change', () => {
    const f = decider([{ name: 'f', action: 'allow', match: { functions: ['lower', 'pg_catalog.now'] } }]);
    expect(f('SELECT lower(x), now() FROM t').decision).toBe('allow');
    expect(f('SELECT lower(x), upper(x) FROM t').decision).toBe('deny');
    const s = decider([{ name: 's', action: 'allow', match: { kinds: ['set'], settings: ['app.*'] } }]);
    expect(s("SET app.x = '1'").decision).toBe('allow');
    expect(s("SET work_mem = '1MB'").decision).toBe('deny');
    expect(s('RESET ALL').decision).toBe('deny');
  });
});

describe('lists in deny and review rules are triggers', () => {
  test('one listed relation, function, setting or kind is enough', () => {
    const d = decider([
      { name: 'no-secrets', action: 'deny', match: { tables: ['secrets'] }, message: 'secrets are off limits' },
      { name: 'hold-orders-writes', action: 'review', match: { writes: ['public.orders'] } },
      { name: 'no-sleep', action: 'deny', match: { functions: ['pg_sleep*'] } },
      { name: 'no-app', action: 'deny', match: { settings: ['app.*'] } },
      { name: 'no-ddl', action: 'deny', match: { kinds: ['ddl'] } },
      { name: 'rest', action: 'allow' },
    ]);
    expect(d('SELECT * FROM orders, secrets')).toEqual({ decision: 'deny', rule: 'no-secrets', message: 'secrets are off limits' });
    expect(d('UPDATE orders SET a = 1 WHERE id = 2')).toMatchObject({ decision: 'review', rule: 'hold-orders-writes', message: 'held for review by rule "hold-orders-writes"' });
    expect(d('SELECT pg_catalog.pg_sleep(1)').rule).toBe('no-sleep');
    expect(d("SELECT 1; SET app.region = 'x'").rule).toBe('no-app');
    expect(d('CREATE TABLE x AS SELECT 1').rule).toBe('no-ddl');
    expect(d('SELECT * FROM orders').decision).toBe('allow');
  });

  test('conditions of one rule must all hold', () => {
    const d = decider([
      { name: 'hold-big-deletes', action: 'review', match: { kinds: ['delete'], whereless: true } },
      { name: 'hold-wide-writes', action: 'review', match: { writesMoreThan: 1 } },
      { name: 'rest', action: 'allow' },
    ]);
    expect(d('DELETE FROM t').rule).toBe('hold-big-deletes');
    expect(d('UPDATE t SET a = 1').rule).toBe('rest');
    expect(d('WITH x AS (DELETE FROM a WHERE id = 1 RETURNING *) INSERT INTO b SELECT * FROM x').rule).toBe('hold-wide-writes');
    expect(d('INSERT INTO b SELECT * FROM a').rule).toBe('rest');
  });

  test('RESET ALL triggers a settings rule about resettable settings, not one about the role', async () => {
    // Asked of the compiled rules themselves: the policy's agent-safe rules allow RESET ALL before a role's rules.
    const { compileRule } = await import('../../src/policy/compile-rule.js');
    const rule = (action: 'deny' | 'allow', settings: string[]) => compileRule(roleSchema.parse({ rules: [{ name: 'x', action, match: { settings } }] }).rules[0]!, 'r');
    const resetAll = analyze('RESET ALL').statements[0]!;
    expect(resetAll.resetsAll).toBe(true);
    expect(rule('deny', ['role', 'session_authorization']).matches(resetAll)).toBe(false);
    expect(rule('deny', ['statement_timeout']).matches(resetAll)).toBe(true);
    expect(rule('deny', ['role', 'app.*']).matches(resetAll)).toBe(true);
    expect(rule('allow', ['statement_timeout']).matches(resetAll)).toBe(false);
    expect(rule('allow', ['*']).matches(resetAll)).toBe(true);
    expect(rule('deny', ['role']).matches(analyze('RESET ROLE').statements[0]!)).toBe(true);
  });
});

describe('names in patterns', () => {
  const d = decider([
    { name: 'deny-upper', action: 'deny', match: { tables: ['public.Orders'] } },
    { name: 'deny-catalog', action: 'deny', match: { reads: ['pg_authid'] } },
    { name: 'deny-any-file', action: 'deny', match: { functions: ['pg_read_file'] } },
    { name: 'deny-public-fn', action: 'deny', match: { functions: ['public.danger'] } },
    { name: 'rest', action: 'allow' },
  ]);

  test('relation patterns are case-sensitive and qualified like SQL names', () => {
    expect(d('SELECT * FROM "Orders"').rule).toBe('deny-upper');
    expect(d('SELECT * FROM orders').rule).toBe('rest');
    expect(d('SELECT * FROM pg_catalog.pg_authid').rule).toBe('deny-catalog');
    expect(d('SELECT * FROM pg_authid').rule).toBe('deny-catalog');
  });

  test('a function pattern without a schema matches any schema; with one, also an unqualified call', () => {
    expect(d("SELECT pg_catalog.pg_read_file('x')").rule).toBe('deny-any-file');
    expect(d("SELECT evil.pg_read_file('x')").rule).toBe('deny-any-file');
    expect(d('SELECT danger()').rule).toBe('deny-public-fn');
    expect(d('SELECT public.danger()').rule).toBe('deny-public-fn');
    expect(d('SELECT other.danger()').rule).toBe('rest');
  });

  test("a lone '*' is every relation; '?' one character", () => {
    const star = decider([{ name: 'all', action: 'deny', match: { tables: ['*'] } }, { name: 'rest', action: 'allow' }]);
    expect(star('SELECT * FROM a.b').rule).toBe('all');
    expect(star('SELECT 1').rule).toBe('rest');
    const q = decider([{ name: 'q', action: 'deny', match: { tables: ['t?'] } }, { name: 'rest', action: 'allow' }]);
    expect(q('SELECT * FROM t1').rule).toBe('q');
    expect(q('SELECT * FROM t12').rule).toBe('rest');
  });
});

describe('order, defaults and built-in steps', () => {
  const roles = rolesOf({
    first: { rules: [{ name: 'first-denies', action: 'deny', match: { reads: ['t'] } }] },
    second: { rules: [{ name: 'second-allows', action: 'allow', match: { kinds: ['select', 'ddl'] } }] },
    optout: { defaults: 'none', rules: [{ name: 'all', action: 'allow' }] },
    strict: { defaults: 'agent-safe' },
    forcing: { session: { settings: { statement_timeout: '5s', default_transaction_read_only: 'on' } } },
  });
  const policy = compilePolicy(roles);
  const decide = (who: { name: string; kind: string; roles: string[] }, sql: string) => policy.decideAnalysis(who, analyze(sql));

  test('rules of several roles apply in the order the identity lists its roles, first match wins', () => {
    expect(decide(agent('first', 'second'), 'SELECT * FROM t').rule).toBe('first-denies');
    expect(decide(agent('second', 'first'), 'SELECT * FROM t').rule).toBe('second-allows');
  });

  test('agents and bots get the agent-safe rules first unless every role opts out; people only when a role asks', () => {
    expect(decide(agent('second'), 'CREATE TABLE x (a int)').rule).toBe('agent-safe:no-ddl');
    expect(decide({ ...agent('second'), kind: 'bot' }, 'CREATE TABLE x (a int)').rule).toBe('agent-safe:no-ddl');
    expect(decide(agent('optout'), 'CREATE TABLE x (a int)').rule).toBe('all');
    expect(decide(agent('optout', 'second'), 'CREATE TABLE x (a int)').rule).toBe('agent-safe:no-ddl');
    expect(decide(human('second'), 'CREATE TABLE x (a int)').rule).toBe('second-allows');
    expect(decide(human('strict'), 'CREATE TABLE x (a int)').rule).toBe('agent-safe:no-ddl');
    expect(decide(agent(), 'CREATE TABLE x (a int)').rule).toBe('agent-safe:no-ddl');
  });

  test('with no matching rule, agents and bots are refused and people are allowed', () => {
    const d = decide(agent('first'), 'SELECT * FROM u');
    expect(d).toMatchObject({ decision: 'deny', rule: 'default' });
    expect(d.message).toBe('no rule of your roles (first) allows this select statement on public.u');
    expect(decide({ ...agent('first'), kind: 'robot' }, 'SELECT now()').decision).toBe('deny');
    expect(decide(human('first'), 'SELECT * FROM u')).toEqual({ decision: 'allow', rule: 'default' });
    expect(decide(human(), 'SELECT 1').decision).toBe('allow');
  });

  test('an unclassified statement matches only rules that ask for unclassified statements', () => {
    const sql = 'SELECT set_config($1, $2, false)';
    expect(decide(agent('optout'), sql)).toMatchObject({ decision: 'deny', rule: 'unclassified' });
    expect(decide(agent('optout'), sql).message).toMatch(/could not be classified \(set_config\(\) is called with a setting name that is not a literal/);
    expect(decide(human(), sql).rule).toBe('unclassified');
    const review = decider([{ name: 'ask', action: 'review', match: { unclassified: true } }, { name: 'rest', action: 'allow' }]);
    expect(review(sql).rule).toBe('ask');
    expect(review('SELECT 1').rule).toBe('rest');
  });

  test('a forced setting cannot be changed by anyone, whatever the rules', () => {
    for (const sql of ['SET statement_timeout = 0', 'RESET statement_timeout', "SELECT set_config('statement_timeout', '0', false)",
      'SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE', 'BEGIN READ WRITE', 'SET TRANSACTION READ WRITE']) {
      expect(decide(human('forcing', 'optout'), sql), sql).toMatchObject({ decision: 'deny', rule: 'forced-setting' });
    }
    expect(decide(human('forcing'), 'SET statement_timeout = 0').message).toBe('"statement_timeout" is set by policy for this session and cannot be changed');
    expect(decide(human('forcing'), 'BEGIN ISOLATION LEVEL SERIALIZABLE').decision).toBe('allow');
    expect(decide(human('optout'), 'SET statement_timeout = 0').decision).toBe('allow');
  });

  test('the gateway can protect more setting names per call', () => {
    const stmt = analyze('SET work_mem = 1').statements[0]!;
    expect(policy.decide(human(), stmt).decision).toBe('allow');
    expect(policy.decide(human(), stmt, { forcedSettings: ['Work_Mem'] })).toMatchObject({ decision: 'deny', rule: 'forced-setting' });
  });

  test('the parser settings are protected for everyone, except being set to the value they must have', () => {
    expect(decide(human(), 'SET standard_conforming_strings = off').rule).toBe('forced-setting');
    expect(decide(human(), 'SET standard_conforming_strings = on').decision).toBe('allow');
    expect(decide(human(), "SET client_encoding = 'utf-8'").decision).toBe('allow');
    expect(decide(human(), "SET client_encoding = 'GBK'").message).toMatch(/must stay UTF8/);
    expect(decide(human(), 'RESET client_encoding').rule).toBe('forced-setting');
    // RESET ALL and DISCARD ALL go back to the session's starting values, where the gateway put the fixed ones.
    expect(decide(human(), 'DISCARD ALL').decision).toBe('allow');
    expect(decide(human('forcing', 'optout'), 'RESET ALL').decision).toBe('allow');
    expect(decide(human(), "UPDATE pg_settings SET setting = '0' WHERE name = 'work_mem'").rule).toBe('forced-setting');
  });

  test('a whole string: parse errors are refused, the strictest statement decides, empty strings are allowed', () => {
    expect(decide(human(), 'SELEC 1')).toMatchObject({ decision: 'deny', rule: 'syntax' });
    expect(decide(human(), 'SELEC 1').message).toMatch(/does not parse \(syntax error/);
    expect(decide(agent('second'), 'SELECT 1; DROP TABLE t').rule).toBe('agent-safe:no-ddl');
    expect(decide(agent('second'), 'SELECT 1; DELETE FROM t').rule).toBe('agent-safe:whereless-review');
    expect(decide(agent('second'), 'DELETE FROM t; CREATE TABLE x ()').decision).toBe('deny');
    expect(decide(agent('second'), '')).toEqual({ decision: 'allow', rule: 'empty' });
  });

  test('repeated decisions on a cached statement return the same decision object', () => {
    const stmt = analyze('SELECT * FROM t').statements[0]!;
    expect(policy.decide(agent('first'), stmt)).toBe(policy.decide(agent('first'), stmt));
  });

  test('statements that differ only in numbers share one decision', () => {
    const a = analyze('SELECT * FROM t WHERE a = 1').statements[0]!;
    const b = analyze('SELECT * FROM t WHERE a = 2222').statements[0]!;
    expect(b).not.toBe(a);
    expect(b.template).toBe(a.template);
    expect(policy.decide(agent('first'), b)).toBe(policy.decide(agent('first'), a));
    expect(policy.decide(human('second'), b)).toBe(policy.decide(human('second'), a));
    expect(policy.decide(agent('first'), a)).not.toBe(policy.decide(human('second'), a));
  });

  test('one compiled policy decides by the identity\'s own roles', () => {
    const stmt = analyze('SELECT * FROM t').statements[0]!;
    const policy = compilePolicy(roles);
    expect(policy.decide(agent('first'), stmt).rule).toBe('first-denies');
    expect(policy.decide(human('second'), stmt).rule).toBe('second-allows');
  });
});

test('the shipped agent rules refuse or hold, allow only housekeeping, and parse as rules', () => {
  expect(AGENT_SAFE_RULES.length).toBeGreaterThan(5);
  for (const r of AGENT_SAFE_RULES) {
    expect(['deny', 'review', 'allow']).toContain(r.action);
    // An allow rule of agent-safe never lets a statement read or write data: only settings, locks, transactions.
    if (r.action === 'allow') for (const k of r.match.kinds ?? ['any']) expect(['set', 'select', 'transaction', 'show', 'empty', 'lock', 'discard', 'deallocate']).toContain(k);
    if (r.action === 'allow' && r.match.kinds?.includes('select')) expect(r.match.reads).toEqual(['pg_catalog.pg_settings']);
    expect(roleSchema.parse({ rules: [r] }).rules[0]).toEqual(r);
    expect(r.message).toBeTruthy();
  }
});
