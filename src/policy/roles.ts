// Roles say which databases, database users and database names an identity may reach, and for how long.
// Statement rules, masking and budgets hang off the role too (see rules.ts); this file is the access part.
import { z } from 'zod';

const durationText = z.string().regex(/^(\d+(\.\d+)?(ms|s|m|h|d))+$/, 'a duration like 30m or 1h');

export const databaseGrantSchema = z
  .object({
    service: z.string().min(1),
    names: z.array(z.string().min(1)).min(1),
    users: z.array(z.string().min(1)).min(1),
  })
  .strict();

export const roleSchema = z
  .object({
    description: z.string().optional(),
    maxTtl: durationText.default('1h'),
    databases: z.array(databaseGrantSchema).default([]),
    /** may search the audit log, verify it and play session recordings */
    audit: z.boolean().default(false),
  })
  .strict();

export type Role = z.infer<typeof roleSchema>;
export type DatabaseGrant = z.infer<typeof databaseGrantSchema>;

export class PolicyError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
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
    for (const grant of roles[roleName]?.databases ?? []) {
      if (grant.service !== request.service && grant.service !== '*') continue;
      grant.names.forEach((n) => names.add(n));
      grant.users.forEach((u) => users.add(u));
    }
  }
  if (names.size === 0) {
    throw new PolicyError('AGENTDB_ERR_POLICY_NO_DATABASE', `none of your roles (${roleNames.join(', ') || 'none'}) grants access to database "${request.service}"`);
  }
  const userList = [...users];
  const nameList = [...names];
  if (request.user !== undefined && !allows(userList, request.user)) {
    throw new PolicyError('AGENTDB_ERR_POLICY_DB_USER', `database user "${request.user}" is not allowed on "${request.service}"; allowed: ${userList.join(', ')}`);
  }
  if (request.name !== undefined && !allows(nameList, request.name)) {
    throw new PolicyError('AGENTDB_ERR_POLICY_DB_NAME', `database name "${request.name}" is not allowed on "${request.service}"; allowed: ${nameList.join(', ')}`);
  }
  return {
    service: request.service,
    names: request.name !== undefined ? [request.name] : nameList,
    users: request.user !== undefined ? [request.user] : userList,
  };
}

/** The longest TTL any of the roles allows, in ms. */
export function maxTtlOf(roles: Record<string, Role>, roleNames: readonly string[], parse: (d: string) => number): number {
  let max = 0;
  for (const r of roleNames) {
    const role = roles[r];
    if (role) max = Math.max(max, parse(role.maxTtl));
  }
  return max;
}

export function allowsName(list: readonly string[], value: string): boolean {
  return allows(list, value);
}
