import { describe, expect, test } from 'vitest';
import { IdentityError, isLoopbackHost, resolveIdentity, type IdentityMapping } from '../../src/identity/index.js';
import { thrown } from '../helpers/expect-coded.js';

const base = { iss: 'https://idp.example.com', sub: 'u-123' };

function mapping(bindings: IdentityMapping['bindings'], over: Partial<IdentityMapping> = {}): IdentityMapping {
  return {
    nameClaims: ['preferred_username', 'email', 'client_id', 'sub'],
    groupsClaim: 'groups',
    traitClaims: { region: 'region', team: 'team' },
    bindings,
    ...over,
  };
}

const failure = (fn: () => unknown): IdentityError => thrown(IdentityError, fn);

describe('resolveIdentity', () => {
  test('roles are the union over all matching bindings, without duplicates', () => {
    const id = resolveIdentity(
      { ...base, preferred_username: 'alice', groups: ['dev', 'oncall'] },
      mapping([
        { match: { claim: 'groups', values: ['dev'] }, roles: ['reader', 'writer'] },
        { match: { claim: 'groups', values: ['oncall'] }, roles: ['writer', 'breakglass'] },
        { match: { claim: 'groups', values: ['admins'] }, roles: ['admin'] },
      ]),
      'human',
    );
    expect(id).toEqual({ name: 'alice', kind: 'human', roles: ['reader', 'writer', 'breakglass'], traits: {}, issuer: base.iss, subject: base.sub });
  });

  test('kind comes from the first matching binding that sets one, else the default', () => {
    const claims = { ...base, client_id: 'ci-bot', groups: ['bots', 'ci'] };
    const bindings: IdentityMapping['bindings'] = [
      { match: { claim: 'groups', values: ['nomatch'] }, kind: 'human', roles: ['x'] },
      { match: { claim: 'groups', values: ['bots'] }, roles: ['reader'] },
      { match: { claim: 'groups', values: ['ci'] }, kind: 'bot', roles: ['ci'] },
      { match: { claim: 'groups', values: ['bots'] }, kind: 'agent', roles: ['reader'] },
    ];
    const id = resolveIdentity(claims, mapping(bindings), 'human');
    expect(id.kind).toBe('bot');
    expect(id.name).toBe('ci-bot');
    expect(resolveIdentity(claims, mapping(bindings.slice(0, 2)), 'agent').kind).toBe('agent');
  });

  test("values are globs where '*' matches any run of characters, and nothing else is special", () => {
    const bind = (values: string[]): IdentityMapping => mapping([{ match: { claim: 'email', values }, roles: ['r'] }]);
    const matches = (email: string, values: string[]): boolean => {
      try {
        resolveIdentity({ ...base, email }, bind(values), 'human');
        return true;
      } catch (err) {
        if ((err as IdentityError).code !== 'AGENTDB_ERR_IDENTITY_NO_ROLES') throw err;
        return false;
      }
    };
    expect(matches('alice@example.com', ['*@example.com'])).toBe(true);
    expect(matches('alice@example.com.evil.io', ['*@example.com'])).toBe(false);
    expect(matches('alice@exampleXcom', ['*@example.com'])).toBe(false); // '.' is literal, not a regex dot
    expect(matches('anything', ['*'])).toBe(true);
    expect(matches('team-payments-eu', ['team-*-eu'])).toBe(true);
    expect(matches('team--eu', ['team-*-eu'])).toBe(true);
    expect(matches('team-eu', ['team-*-eu'])).toBe(false);
    expect(matches('abcabc', ['a*b*c'])).toBe(true);
    expect(matches('acb', ['a*b*c'])).toBe(false);
    expect(matches('Alice@example.com', ['alice@*'])).toBe(false); // case-sensitive
    expect(matches('x', ['a', 'b', 'x'])).toBe(true);
    expect(matches('(a+)+$', ['(a+)+$'])).toBe(true);
  });

  test('an array claim matches when any element matches; groups may be a space-separated string', () => {
    const byAmr = mapping([{ match: { claim: 'amr', values: ['mfa'] }, roles: ['strong'] }]);
    expect(resolveIdentity({ ...base, email: 'a@b.c', amr: ['pwd', 'mfa'] }, byAmr, 'human').roles).toEqual(['strong']);

    const byGroups = mapping([{ match: { claim: 'groups', values: ['ops'] }, roles: ['ops'] }], { groupsClaim: 'roles' });
    expect(resolveIdentity({ ...base, email: 'a@b.c', roles: 'dev  ops' }, byGroups, 'human').roles).toEqual(['ops']);
    // 'groups' in a binding means the configured groups claim, not a claim literally named groups.
    const err = failure(() => resolveIdentity({ ...base, email: 'a@b.c', groups: ['ops'] }, byGroups, 'human'));
    expect(err.code).toBe('AGENTDB_ERR_IDENTITY_NO_ROLES');
    expect(err.message).toContain('groups (roles)=[]');
  });

  test('traits are read from their claims as lists of strings', () => {
    const id = resolveIdentity(
      { ...base, sub: 'svc', region: 'eu', team: ['a', 'b'], groups: ['x'] },
      mapping([{ match: { claim: 'groups', values: ['x'] }, roles: ['r'] }], { traitClaims: { region: 'region', team: 'team', tier: 'tier', level: 'lvl' } }),
      'agent',
    );
    expect(id.name).toBe('svc'); // last name claim
    expect(id.traits).toEqual({ region: ['eu'], team: ['a', 'b'] });
    const numeric = resolveIdentity({ ...base, email: 'e@x', lvl: 3, groups: ['x'] }, mapping([{ match: { claim: 'groups', values: ['x'] }, roles: ['r'] }], { traitClaims: { level: 'lvl' } }), 'agent');
    expect(numeric.traits).toEqual({ level: ['3'] });
  });

  test('the first present name claim wins', () => {
    const m = mapping([{ match: { claim: 'sub', values: ['*'] }, roles: ['r'] }]);
    expect(resolveIdentity({ ...base, email: 'e@x', client_id: 'c' }, m, 'human').name).toBe('e@x');
    expect(resolveIdentity({ ...base, preferred_username: '', email: 'e@x' }, m, 'human').name).toBe('e@x');
  });

  test('no matching binding is denied, naming the identity and the claims tried', () => {
    const err = failure(() =>
      resolveIdentity(
        { ...base, preferred_username: 'eve', groups: ['guests'], email: 'eve@example.com' },
        mapping([
          { match: { claim: 'groups', values: ['dev'] }, roles: ['reader'] },
          { match: { claim: 'email', values: ['*@corp.com'] }, roles: ['reader'] },
        ]),
        'human',
      ),
    );
    expect(err.code).toBe('AGENTDB_ERR_IDENTITY_NO_ROLES');
    expect(err.message).toContain('"eve"');
    expect(err.message).toContain(base.iss);
    expect(err.message).toContain('groups=["guests"]');
    expect(err.message).toContain('email=["eve@example.com"]');
  });

  test('no bindings at all, or matches that grant no role, are denied too', () => {
    const none = failure(() => resolveIdentity({ ...base, email: 'a@b' }, mapping([]), 'human'));
    expect(none.code).toBe('AGENTDB_ERR_IDENTITY_NO_ROLES');
    expect(none.message).toContain('no role bindings are configured');
    const empty = failure(() => resolveIdentity({ ...base, email: 'a@b' }, mapping([{ match: { claim: 'email', values: ['*'] }, roles: [] }]), 'human'));
    expect(empty.code).toBe('AGENTDB_ERR_IDENTITY_NO_ROLES');
    expect(empty.message).toContain('grant no role');
  });

  test('malformed claims give a clear error, not a crash', () => {
    const m = mapping([{ match: { claim: 'groups', values: ['*'] }, roles: ['r'] }]);
    const groups = failure(() => resolveIdentity({ ...base, email: 'a@b', groups: { admin: true } }, m, 'human'));
    expect(groups.code).toBe('AGENTDB_ERR_IDENTITY_CLAIMS_INVALID');
    expect(groups.message).toContain('"groups"');
    const nested = failure(() => resolveIdentity({ ...base, email: 'a@b', groups: [['x']] }, m, 'human'));
    expect(nested.code).toBe('AGENTDB_ERR_IDENTITY_CLAIMS_INVALID');
    const trait = failure(() => resolveIdentity({ ...base, email: 'a@b', groups: ['x'], region: { eu: 1 } }, m, 'human'));
    expect(trait.message).toContain('"region"');
    expect(failure(() => resolveIdentity({ sub: 's', email: 'a@b', groups: ['x'] }, m, 'human')).code).toBe('AGENTDB_ERR_IDENTITY_CLAIMS_INVALID');
    expect(failure(() => resolveIdentity({ iss: 'i', email: 'a@b', groups: ['x'] }, m, 'human')).message).toContain('"sub"');
    const noName = failure(() => resolveIdentity({ ...base, groups: ['x'] }, mapping(m.bindings, { nameClaims: ['preferred_username', 'email'] }), 'human'));
    expect(noName.code).toBe('AGENTDB_ERR_IDENTITY_NO_NAME');
    expect(noName.message).toContain('preferred_username, email');
  });
});

describe('isLoopbackHost', () => {
  test.each([
    ['127.0.0.1', true], ['127.8.9.10', true], ['localhost', true], ['LOCALHOST', true], ['[::1]', true], ['::1', true],
    ['128.0.0.1', false], ['10.0.0.1', false], ['0.0.0.0', false], ['[::]', false], ['localhost.example.com', false],
    ['127.0.0.1.nip.io', false], ['example.com', false],
  ])('%s -> %s', (host, expected) => {
    expect(isLoopbackHost(host)).toBe(expected);
  });
});
