// What agents and bots get on top of their roles: forced idle-in-transaction and lock timeouts that no
// statement may change, and advisory locks refused unless a role allows them.
import { beforeAll, describe, expect, test } from 'vitest';
import { z } from 'zod';
import { analyze, compilePolicy, forcedSettingNames, loadParser, roleSchema, sessionSettingsFor, type RoleInput } from '../../src/policy/index.js';
import { demoRoles } from '../../src/server/dev/demo-roles.js';

beforeAll(loadParser);

const rolesOf = (input: Record<string, RoleInput>) => z.record(z.string(), roleSchema).parse(input);
const demo = rolesOf(demoRoles('customers'));
const who = (kind: string, ...roles: string[]) => ({ name: 'x', kind, roles });

describe('forced timeouts for agents and bots', () => {
  test('agents and bots get them, people do not; a role that sets one keeps its own value', () => {
    const roles = rolesOf({ a: {}, own: { session: { settings: { lock_timeout: '2s' } } } });
    for (const kind of ['agent', 'bot', 'something-new']) {
      expect(sessionSettingsFor(roles, ['a'], {}, kind)).toMatchObject({ idle_in_transaction_session_timeout: '60s', lock_timeout: '10s' });
      expect(sessionSettingsFor(roles, ['own'], {}, kind)).toMatchObject({ idle_in_transaction_session_timeout: '60s', lock_timeout: '2s' });
      expect(forcedSettingNames(roles, ['a'], kind).sort()).toEqual(['idle_in_transaction_session_timeout', 'lock_timeout']);
    }
    const person = sessionSettingsFor(roles, ['a'], {}, 'human');
    expect(person).not.toHaveProperty('lock_timeout');
    expect(person).not.toHaveProperty('idle_in_transaction_session_timeout');
    expect(forcedSettingNames(roles, ['a'], 'human')).toEqual([]);
  });

  test('an agent cannot change or reset them, in any spelling; a person can', () => {
    const policy = compilePolicy(demo);
    const agent = who('agent', 'demo-agent');
    for (const sql of [
      'SET idle_in_transaction_session_timeout = 0',
      "SET LOCAL lock_timeout = '2s'",
      'SET lock_timeout TO DEFAULT',
      'RESET idle_in_transaction_session_timeout',
      "SELECT set_config('lock_timeout', '0', false)",
      'BEGIN; SET LOCAL idle_in_transaction_session_timeout = 0',
    ]) {
      expect(policy.decideAnalysis(agent, analyze(sql)), sql).toMatchObject({ decision: 'deny', rule: 'forced-setting' });
    }
    expect(policy.decideAnalysis(agent, analyze('SHOW lock_timeout'))).toMatchObject({ decision: 'allow' });
    expect(policy.decideAnalysis(who('human', 'support'), analyze('SET lock_timeout = 0'))).toMatchObject({ decision: 'allow' });
  });
});

describe('advisory locks', () => {
  const locks = [
    'SELECT pg_advisory_lock(42)',
    'SELECT pg_advisory_xact_lock(1, 2)',
    'SELECT pg_advisory_lock_shared(42)',
    'SELECT pg_try_advisory_lock(42)',
    'SELECT pg_try_advisory_xact_lock_shared(42)',
    'SELECT id FROM orders WHERE pg_try_advisory_xact_lock(id) LIMIT 1',
    'BEGIN; SELECT pg_advisory_lock(42)',
  ];

  test('the demo agent is refused every kind of them', () => {
    const policy = compilePolicy(demo);
    for (const sql of locks) {
      expect(policy.decideAnalysis(who('agent', 'demo-agent'), analyze(sql)), sql).toMatchObject({ decision: 'deny', rule: 'agent-safe:no-advisory-locks' });
    }
  });

  test('a role with allowAdvisoryLocks lifts that one rule, and its own rules still decide', () => {
    const agentRole = demoRoles('customers')['demo-agent']!;
    const roles = rolesOf({
      locker: { ...agentRole, allowAdvisoryLocks: true },
      other: { ...agentRole },
      narrow: { allowAdvisoryLocks: true, rules: [{ name: 'only-orders', action: 'allow', match: { kinds: ['select'], reads: ['public.orders'], functions: ['count'] } }] },
    });
    const policy = compilePolicy(roles);
    for (const sql of locks) expect(policy.decideAnalysis(who('agent', 'locker'), analyze(sql)), sql).toMatchObject({ decision: 'allow' });
    // Any of the identity's roles allowing them is enough; the other agent-safe rules stay.
    expect(policy.decideAnalysis(who('agent', 'other', 'locker'), analyze('SELECT pg_advisory_lock(42)'))).toMatchObject({ decision: 'allow' });
    expect(policy.decideAnalysis(who('agent', 'locker'), analyze('SELECT pg_sleep(1)'))).toMatchObject({ decision: 'deny', rule: 'agent-safe:no-sleep' });
    expect(policy.decideAnalysis(who('agent', 'other'), analyze('SELECT pg_advisory_lock(42)'))).toMatchObject({ decision: 'deny', rule: 'agent-safe:no-advisory-locks' });
    // Lifting the safe rule is not an allow: no rule of this role allows the function.
    expect(policy.decideAnalysis(who('agent', 'narrow'), analyze('SELECT pg_advisory_lock(42)'))).toMatchObject({ decision: 'deny', rule: 'default' });
  });
});
