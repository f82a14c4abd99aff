// Grant by grant: which of an identity's roles allow one database service, user and name together. The union
// of all grants (resolveDatabaseAccess) answers "may this identity reach the service at all"; a certificate
// needs the narrower answer, or role A's user would combine with role B's database name.
import { allowsName, roleNamed, type DatabaseGrant, type Role } from './roles.js';

export interface RoleGrant {
  role: string;
  grant: DatabaseGrant;
}

/** The grants of `roleNames` that cover the service, and the user and database name when they are given. */
export function grantsFor(
  roles: Record<string, Role>,
  roleNames: readonly string[],
  request: { service: string; user?: string | undefined; name?: string | undefined },
): RoleGrant[] {
  const out: RoleGrant[] = [];
  for (const role of roleNames) {
    for (const grant of roleNamed(roles, role)?.databases ?? []) {
      if (grant.service !== request.service && grant.service !== '*') continue;
      if (request.user !== undefined && !allowsName(grant.users, request.user)) continue;
      if (request.name !== undefined && !allowsName(grant.names, request.name)) continue;
      out.push({ role, grant });
    }
  }
  return out;
}
