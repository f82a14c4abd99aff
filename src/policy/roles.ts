// Roles say which databases, database users and database names an identity may reach, and for how long;
// statement rules, forced session settings, data budgets and review rights hang off the role too (each in
// its own file). This file is the role schema and the access part.
import { z } from 'zod';
import { budgetSchema } from './budget.js';
import { durationText } from './duration-text.js';
import { PolicyError, PolicyErrorCode } from './errors.js';
import { reviewSchema } from './review.js';
import { ruleSchema } from './rule-schema.js';
import { sessionSchema } from './session-settings.js';

/** The database user that stands for a role provisioned per identity and role set. */
export const PROVISIONED_USER = 'auto';

export const databaseGrantSchema = z
  .object({
    service: z.string().min(1),
    names: z.array(z.string().min(1)).min(1),
    users: z.array(z.string().min(1)).min(1),
    /** the user a certificate gets when none is asked for; unset: the first of `users` (list them least privileged first) */
    defaultUser: z.string().min(1).optional(),
    /** how the database user `auto` is made: a role per identity and role set (README "Provisioned database users") */
    provision: z
      .object({
        /** PostgreSQL (group) roles the provisioned user is granted, and nothing else */
        roles: z.array(z.string().min(1)).min(1),
        /** at the last session's end: drop the role, or keep it without grants and NOLOGIN */
        mode: z.enum(['keep', 'drop']).default('drop'),
      })
      .strict()
      .optional(),
  })
  .strict()
  .refine((g) => g.defaultUser === undefined || g.users.includes(g.defaultUser), { message: 'defaultUser must be one of users', path: ['defaultUser'] })
  .refine((g) => g.users.includes(PROVISIONED_USER) === (g.provision !== undefined), {
    message: `a grant lists the user "auto" exactly when it says how to provision it (provision: {roles, mode})`,
    path: ['provision'],
  });

export const roleSchema = z
  .object({
    description: z.string().optional(),
    maxTtl: durationText.default('1h'),
    databases: z.array(databaseGrantSchema).default([]),
    /** may search the audit log, verify it and play session recordings */
    audit: z.boolean().default(false),
    /** what this role sees masked; validated and compiled by the masking module (policy does not look inside) */
    masking: z.record(z.string(), z.unknown()).optional(),
    /**
     * 'agent-safe' puts AGENT_SAFE_RULES before this role's rules; 'none' does not. Unset means agent-safe for
     * agents and bots and none for people.
     */
    defaults: z.enum(['agent-safe', 'none']).optional(),
    /** lifts agent-safe:no-advisory-locks for this role's identities (any of their roles saying so is enough) */
    allowAdvisoryLocks: z.boolean().optional(),
    /** statement rules, first match wins (see compilePolicy for the order across roles) */
    rules: z.array(ruleSchema).default([]),
    session: sessionSchema.default({ settings: {} }),
    budget: budgetSchema.optional(),
    review: reviewSchema.optional(),
  })
  .strict()
  .superRefine((role, ctx) => {
    const seen = new Set<string>();
    role.rules.forEach((r, i) => {
      if (seen.has(r.name)) ctx.addIssue({ code: 'custom', path: ['rules', i, 'name'], message: `rule name "${r.name}" is used twice in this role` });
      seen.add(r.name);
    });
  });

export type Role = z.infer<typeof roleSchema>;
/** A role as written in config, before defaults are filled in. */
export type RoleInput = z.input<typeof roleSchema>;
export type DatabaseGrant = z.infer<typeof databaseGrantSchema>;

/**
 * The role called `name`, if the table defines one. Role names arrive from requests and certificates: a name
 * such as "__proto__" or "toString" must find nothing, not something Object.prototype lends a plain object.
 */
export function roleNamed(roles: Record<string, Role>, name: string): Role | undefined {
  return Object.hasOwn(roles, name) ? roles[name] : undefined;
}

/** The roles of a config as a null-prototype table, so that every lookup by name (here and downstream) is own-only. */
export function roleTable(roles: Record<string, Role>): Record<string, Role> {
  return Object.assign(Object.create(null) as Record<string, Role>, roles);
}

/** '*' matches anything; otherwise exact. */
function allows(list: readonly string[], value: string): boolean {
  return list.includes('*') || list.includes(value);
}

export interface DatabaseAccess {
  service: string;
  names: string[];
  users: string[];
}

/**
 * What the given roles allow on one database service: the union of their grants, narrowed to the user and
 * database name asked for. Default deny: no grant, or a user/name outside the grants, is an error.
 */
export function resolveDatabaseAccess(
  roles: Record<string, Role>,
  roleNames: readonly string[],
  request: { service: string; user?: string; name?: string },
): DatabaseAccess {
  const names = new Set<string>();
  const users = new Set<string>();
  for (const roleName of roleNames) {
    for (const grant of roleNamed(roles, roleName)?.databases ?? []) {
      if (grant.service !== request.service && grant.service !== '*') continue;
      grant.names.forEach((n) => names.add(n));
      grant.users.forEach((u) => users.add(u));
    }
  }
  if (names.size === 0) {
    throw new PolicyError(PolicyErrorCode.NO_DATABASE, `none of your roles (${roleNames.join(', ') || 'none'}) grants access to database "${request.service}"`);
  }
  const userList = [...users];
  const nameList = [...names];
  if (request.user !== undefined && !allows(userList, request.user)) {
    throw new PolicyError(PolicyErrorCode.DB_USER, `database user "${request.user}" is not allowed on "${request.service}"; allowed: ${userList.join(', ')}`);
  }
  if (request.name !== undefined && !allows(nameList, request.name)) {
    throw new PolicyError(PolicyErrorCode.DB_NAME, `database name "${request.name}" is not allowed on "${request.service}"; allowed: ${nameList.join(', ')}`);
  }
  return {
    service: request.service,
    names: request.name !== undefined ? [request.name] : nameList,
    users: request.user !== undefined ? [request.user] : userList,
  };
}

export function allowsName(list: readonly string[], value: string): boolean {
  return allows(list, value);
}

export interface ProvisionPlan {
  roles: string[];
  mode: 'keep' | 'drop';
}

/**
 * What the provisioned user of `service` gets for these roles: the union of their grants' provision roles. Modes
 * that disagree resolve to drop, which leaves nothing behind. Undefined when no role provisions on `service`.
 */
export function provisionPlanFor(roles: Record<string, Role>, roleNames: readonly string[], service: string): ProvisionPlan | undefined {
  const granted = new Set<string>();
  let mode: ProvisionPlan['mode'] | undefined;
  for (const roleName of roleNames) {
    for (const grant of roleNamed(roles, roleName)?.databases ?? []) {
      if ((grant.service !== service && grant.service !== '*') || !grant.provision) continue;
      grant.provision.roles.forEach((r) => granted.add(r));
      mode = mode === 'drop' || grant.provision.mode === 'drop' ? 'drop' : 'keep';
    }
  }
  return mode ? { roles: [...granted].sort(), mode } : undefined;
}
