// What the gateway asks of the policy besides decisions: forced session settings (from identity traits),
// data budgets, and who reviews held statements for how long.
import { describe, expect, test } from 'vitest';
import { z } from 'zod';
import {
  PolicyError, budgetFor, forcedSettingNames, mayReview, reviewTimeoutFor, roleSchema, sessionSettingsFor, type RoleInput,
} from '../../src/policy/index.js';
import { parseDuration } from '../../src/server/duration.js';
import { demoRoles } from '../../src/server/dev/demo-roles.js';
import { thrown } from '../helpers/expect-coded.js';

const rolesOf = (input: Record<string, RoleInput>) => z.record(z.string(), roleSchema).parse(input);
const demo = rolesOf(demoRoles('customers'));

describe('sessionSettingsFor', () => {
  test('the demo agent gets its settings, the region from its trait, and the parser settings', () => {
    expect(sessionSettingsFor(demo, ['demo-agent'], { region: ['us-east'] })).toEqual({
      standard_conforming_strings: 'on',
      client_encoding: 'UTF8',
      statement_timeout: '30s',
      'app.region': 'us-east',
    });
    expect(sessionSettingsFor(demo, ['support'], { region: 'eu' })).toEqual({ standard_conforming_strings: 'on', client_encoding: 'UTF8', 'app.region': 'eu' });
    expect(sessionSettingsFor(demo, ['reviewer'], {})).toEqual({ standard_conforming_strings: 'on', client_encoding: 'UTF8' });
  });

  test('a missing trait refuses the session with an error that says which trait and role', () => {
    for (const traits of [{}, { region: [] }, { other: ['x'] }] as Record<string, string[]>[]) {
      thrown(
        PolicyError,
        () => sessionSettingsFor(demo, ['demo-agent'], traits),
        'AGENTDB_ERR_POLICY_TRAIT_MISSING',
        /role "demo-agent" sets app.region from the trait "region", which your identity does not have/,
      );
    }
  });

  test('templates fill in text, several values are joined with commas, the first role to set a name wins', () => {
    const roles = rolesOf({
      a: { session: { settings: { 'app.tag': 'team-{{traits.team}}/{{ traits.region }}', statement_timeout: '5s' } } },
      b: { session: { settings: { statement_timeout: '1h', 'app.x': 'plain' } } },
    });
    expect(sessionSettingsFor(roles, ['a', 'b', 'unknown'], { team: ['db', 'ops'], region: 'eu' })).toMatchObject({
      'app.tag': 'team-db,ops/eu',
      statement_timeout: '5s',
      'app.x': 'plain',
    });
    expect(sessionSettingsFor(roles, ['b', 'a'], { team: 'x', region: 'y' }).statement_timeout).toBe('1h');
    expect(forcedSettingNames(roles, ['a', 'b'])).toEqual(['app.tag', 'statement_timeout', 'app.x']);
  });

  test('a trait holding NUL is refused', () => {
    const roles = rolesOf({ a: { session: { settings: { 'app.x': '{{traits.x}}' } } } });
    expect(() => sessionSettingsFor(roles, ['a'], { x: 'a\0b' })).toThrow(expect.objectContaining({ code: 'AGENTDB_ERR_POLICY_TRAIT_INVALID' }));
  });
});

describe('budgetFor', () => {
  test('the smallest limit of each kind wins; a role without one does not lift it', () => {
    const roles = rolesOf({ a: { budget: { rows: 100, bytes: 5000 } }, b: { budget: { rows: 10 } }, c: {} });
    expect(budgetFor(roles, ['a', 'b', 'c'], parseDuration)).toEqual({ rows: 10, bytes: 5000 });
    expect(budgetFor(roles, ['c'], parseDuration)).toEqual({});
    // The demo agent's, with its per-identity window: test/unit/gateway-task-budget.test.ts.
  });
});

describe('review', () => {
  test('who may review for which database service', () => {
    expect(mayReview(demo, ['support'], 'customers')).toBe(true);
    expect(mayReview(demo, ['reviewer'], 'customers')).toBe(true);
    expect(mayReview(demo, ['demo-agent'], 'customers')).toBe(false);
    expect(mayReview(demo, ['support'], 'billing')).toBe(false);
    expect(mayReview(rolesOf({ all: { review: { databases: ['*'] } } }), ['all'], 'billing')).toBe(true);
    expect(mayReview(demo, [], 'customers')).toBe(false);
  });

  test('a held statement waits for the shortest timeout of the identity roles, 5 minutes by default', () => {
    const roles = rolesOf({ a: { review: { timeout: '10m' } }, b: { review: { timeout: '90s' } }, c: {} });
    expect(reviewTimeoutFor(roles, ['a', 'b'], parseDuration)).toBe(90_000);
    expect(reviewTimeoutFor(roles, ['c'], parseDuration)).toBe(300_000);
    expect(reviewTimeoutFor(demo, ['demo-agent'], parseDuration)).toBe(300_000);
  });
});
