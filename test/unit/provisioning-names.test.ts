// Provisioned role names and the config that asks for them: pure functions, no database (the lifecycle is in
// test/integration/provisioning.test.ts).
import { describe, expect, test } from 'vitest';
import { provisionedRoleName } from '../../src/gateway/index.js';
import { provisionPlanFor, roleSchema, roleTable } from '../../src/policy/index.js';
import { parseConfig } from '../../src/server/config.js';

describe('provisionedRoleName', () => {
  test('agentdb:<identity>:<10 hex>, the same for the same role set in any order', () => {
    const a = provisionedRoleName('s', 'demo-agent', ['b', 'a']);
    expect(a).toMatch(/^agentdb:demo-agent:[0-9a-f]{10}$/);
    expect(provisionedRoleName('s', 'demo-agent', ['a', 'b', 'a'])).toBe(a);
  });

  test('another role set, scope or identity is another name, even when the shown identity is cut the same', () => {
    const long = 'x'.repeat(80);
    const names = [
      provisionedRoleName('s', 'demo-agent', ['a']),
      provisionedRoleName('s', 'demo-agent', ['a', 'b']),
      provisionedRoleName('t', 'demo-agent', ['a']),
      provisionedRoleName('s', `${long}1`, ['a']),
      provisionedRoleName('s', `${long}2`, ['a']),
    ];
    expect(new Set(names).size).toBe(names.length);
  });

  test('at most 63 bytes, cut on a character boundary, control characters shown as _', () => {
    for (const identity of ['é'.repeat(60), '😀'.repeat(30), 'a'.repeat(100), 'tab\there\u0000']) {
      const n = provisionedRoleName('s', identity, ['a']);
      expect(Buffer.byteLength(n)).toBeLessThanOrEqual(63);
      expect(n).not.toMatch(/\uFFFD|[\u0000-\u001f]/);
      expect(Buffer.from(n).toString('utf8')).toBe(n);
    }
    expect(provisionedRoleName('s', 'tab\there', ['a'])).toMatch(/^agentdb:tab_here:/);
  });
});

describe('provision config', () => {
  const grant = { service: 'db', names: ['db'], users: ['auto'], provision: { roles: ['reader'] } };

  test('the user auto and a provision block come together', () => {
    expect(roleSchema.safeParse({ databases: [grant] }).success).toBe(true);
    expect(roleSchema.safeParse({ databases: [{ ...grant, provision: undefined }] }).success).toBe(false);
    expect(roleSchema.safeParse({ databases: [{ ...grant, users: ['app_rw'] }] }).success).toBe(false);
  });

  test('the plan is the union of the roles granted on the service; disagreeing modes drop', () => {
    const roles = roleTable({
      a: roleSchema.parse({ databases: [{ ...grant, provision: { roles: ['reader'], mode: 'keep' } }] }),
      b: roleSchema.parse({ databases: [{ ...grant, provision: { roles: ['writer', 'reader'], mode: 'drop' } }] }),
      c: roleSchema.parse({ databases: [{ ...grant, service: 'other' }] }),
    });
    expect(provisionPlanFor(roles, ['a'], 'db')).toEqual({ roles: ['reader'], mode: 'keep' });
    expect(provisionPlanFor(roles, ['a', 'b', 'c'], 'db')).toEqual({ roles: ['reader', 'writer'], mode: 'drop' });
    expect(provisionPlanFor(roles, ['c'], 'db')).toBeUndefined();
  });

  test('a provisioning grant needs an admin on its database', () => {
    const base = `auth: {oidc: {issuer: "https://idp.example", clientId: x, audience: y}}
roles:
  r: {databases: [{service: db, names: [db], users: [auto], provision: {roles: [reader]}}]}
databases:
  db:
    host: 127.0.0.1
`;
    expect(() => parseConfig(base, 'c.yaml')).toThrow(/roles\.r\.databases\.0\.provision: database "db" has no admin/);
    const cfg = parseConfig(`${base}    admin: {user: agentdb_admin, passwordEnv: PGADMIN}\n`, 'c.yaml');
    expect(cfg.databases.db!.admin).toMatchObject({ user: 'agentdb_admin', passwordEnv: 'PGADMIN', database: 'postgres' });
    expect(() => parseConfig(`${base}    admin: {user: agentdb_admin, password: x, passwordEnv: Y}\n`, 'c.yaml')).toThrow(/admin/);
    expect(() => parseConfig(`${base}    admin: {user: a, password: x}\n    credentials: {auto: {password: x}}\n`, 'c.yaml')).toThrow(/credentials\.auto: "auto" names the provisioned user/);
  });
});
