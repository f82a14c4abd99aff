import { describe, expect, test } from 'vitest';
import { parseConfig, ConfigError } from '../../src/server/index.js';
import { thrown } from '../helpers/expect-coded.js';

const GOOD = `
cluster: prod
gateway:
  listen: 0.0.0.0:7432
auth:
  oidc:
    issuer: https://login.example.com/
    clientId: agentdb
    audience: api://agentdb
  bindings:
    - match: { claim: groups, values: [dba] }
      roles: [dba]
roles:
  dba:
    maxTtl: 8h
    databases:
      - { service: orders, names: ['*'], users: [dba] }
databases:
  orders:
    host: 10.0.0.5
    credentials:
      dba: { passwordEnv: DBA_PASSWORD }
`;

const error = (text: string): string => thrown(ConfigError, () => parseConfig(text, 'agentdb.yaml')).message;

describe('server config', () => {
  test('a good config parses, with defaults filled in', () => {
    const c = parseConfig(GOOD);
    expect(c.api.listen).toBe('127.0.0.1:7443');
    expect(c.roles.dba!.maxTtl).toBe('8h');
    expect(c.databases.orders!.port).toBe(5432);
    expect(c.auth.sessionTtl).toBe('12h');
  });

  test('a wrong value names the file, the line and the field', () => {
    const msg = error(GOOD.replace('maxTtl: 8h', 'maxTtl: forever'));
    expect(msg).toMatch(/^agentdb\.yaml:15: roles\.dba\.maxTtl: /);
  });

  test('an unknown field is refused, by name', () => {
    expect(error(GOOD.replace('  listen: 0.0.0.0:7432', '  listen: 0.0.0.0:7432\n  lissen: 1'))).toMatch(/agentdb\.yaml:5: gateway: .*lissen/);
  });

  test('a YAML syntax error names its line', () => {
    expect(error('cluster: prod\nroles:\n  dba: [\n')).toMatch(/^agentdb\.yaml:\d+: /);
  });

  test('a binding to a role that does not exist, and a role naming an unknown database, are caught', () => {
    expect(error(GOOD.replace('roles: [dba]', 'roles: [dbaa]'))).toMatch(/auth\.bindings\.0\.roles: role "dbaa" is not defined/);
    expect(error(GOOD.replace("service: orders, names", "service: orderz, names"))).toMatch(/database "orderz" is not defined/);
  });

  test('an inline address that is not host:port is refused', () => {
    expect(error(GOOD.replace('listen: 0.0.0.0:7432', 'listen: everywhere'))).toMatch(/gateway\.listen: host:port/);
  });
});
