// set_config() over a pg_settings row (pg_dump's way of setting restrict_nonsystem_relation_kind): the setting
// it changes is known when the select keeps exactly one setting's row, and unknown (refused) otherwise.
import { beforeAll, describe, expect, test } from 'vitest';
import { analyze, loadParser } from '../../src/policy/index.js';

beforeAll(() => loadParser());

const effect = (sql: string) => {
  const a = analyze(sql);
  if ('error' in a && a.error) throw new Error(a.error);
  const s = a.statements[0]!;
  return { changes: s.settingChanges, unclassified: s.unclassified };
};

describe('set_config(name, ...) FROM pg_settings', () => {
  test.each([
    ["SELECT set_config(name, 'view, foreign-table', false) FROM pg_settings WHERE name = 'restrict_nonsystem_relation_kind'", 'restrict_nonsystem_relation_kind'],
    ["SELECT pg_catalog.set_config(s.name, '0', false) FROM pg_catalog.pg_settings s WHERE 'statement_timeout' = name", undefined],
    ["SELECT set_config(name, '0', false) FROM pg_settings WHERE name = 'Statement_Timeout' AND context = 'user'", 'statement_timeout'],
    ["SELECT set_config(pg_settings.name, '0', false) FROM pg_settings WHERE pg_settings.name = 'lock_timeout'", 'lock_timeout'],
  ])('%s', (sql, name) => {
    const e = effect(sql);
    if (name === undefined) expect(e.unclassified).toMatch(/not a literal/);
    else expect(e.changes.map((c) => c.name)).toEqual([name]);
  });

  test.each([
    "SELECT set_config(name, '0', false) FROM pg_settings",
    "SELECT set_config(name, '0', false) FROM pg_settings WHERE name = 'a' OR name = 'statement_timeout'",
    "SELECT set_config(name, '0', false) FROM pg_settings WHERE name LIKE 'statement%'",
    "SELECT set_config(name, '0', false) FROM pg_settings, pg_class WHERE name = 'x'",
    "SELECT set_config(name, '0', false) FROM my_settings WHERE name = 'x'",
    "SELECT set_config(n.name, '0', false) FROM (SELECT name FROM pg_settings) n WHERE n.name = 'x'",
  ])('unknown: %s', (sql) => {
    expect(effect(sql).unclassified).toMatch(/not a literal/);
  });
});
