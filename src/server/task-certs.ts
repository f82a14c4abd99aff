// Task certificates: what the roles of a logged-in identity allow on one database, for one task, for a while.
import { randomBytes } from 'node:crypto';
import { CaError, type CertificateAuthority } from '../ca/index.js';
import { allowsName, grantsFor, resolveDatabaseAccess, roleNamed, type DatabaseAccess, type PolicyError, type Role, type RoleGrant } from '../policy/index.js';
import type { Identity } from '../identity/index.js';
import type { AuditLog } from '../audit/index.js';
import type { LoginSession } from './login-sessions.js';
import type { Locks } from './locks.js';
import type { AccessRequests } from './access-requests.js';
import { formatDuration, parseDuration } from './duration.js';
import { ServerError, ServerErrorCode } from './errors.js';

export interface CertRequest {
  csr: string;
  db: string;
  dbUser?: string;
  dbName?: string;
  task?: string;
  ttl?: string;
}

export interface IssuedCert {
  cert: string;
  expiresAt: string;
  serial: string;
  task: { id: string; reason: string };
  db: { service: string; names: string[]; users: string[] };
}

const DEFAULT_TTL_MS = 60 * 60 * 1000;

/** A role granted just in time: the approved request behind it and when the grant ends. */
interface JitGrant {
  role: string;
  request: string;
  until: Date;
}

/** What one certificate is issued under: the roles whose grants allow its one database user, and their limits. */
interface CertScope {
  access: DatabaseAccess;
  /** the roles whose grants allow this user on these names, in the login's order: their rules apply */
  roles: string[];
  /** just-in-time grants among `roles` */
  grants: JitGrant[];
  /** how long each role may keep this access from now, in ms (a JIT role also ends with its grant) */
  limits: Map<string, number>;
}

const unique = <T>(xs: Iterable<T>): T[] => [...new Set(xs)];

export class TaskCertIssuer {
  constructor(
    private readonly ca: CertificateAuthority,
    private readonly roles: Record<string, Role>,
    private readonly audit: AuditLog,
    private readonly locks: Locks,
    private readonly requests: AccessRequests,
  ) {}

  async issue(session: LoginSession, req: CertRequest): Promise<IssuedCert> {
    const identity = session.identity;
    const lock = this.locks.find(identity.name);
    if (lock) throw new ServerError(ServerErrorCode.CERT_LOCKED, `${identity.name} is locked by ${lock.createdBy}: ${lock.reason}`, 403);
    let ttl = DEFAULT_TTL_MS;
    if (req.ttl) {
      try {
        ttl = parseDuration(req.ttl);
      } catch (err) {
        throw new ServerError(ServerErrorCode.CERT_TTL, (err as Error).message);
      }
    }
    const scope = await this.scopeFor(identity, req);
    // The longest any granting role allows: each of them alone would give this access for that long.
    let cap = 0;
    let capBy = '';
    for (const [role, ms] of scope.limits) if (ms > cap) [cap, capBy] = [ms, role];
    const notAfter = new Date(Math.min(Date.now() + Math.min(ttl, cap), session.expiresAt.getTime()));
    const task = { id: `tsk_${randomBytes(9).toString('base64url')}`, reason: req.task?.trim() || '(no reason given)' };
    const accessRequest = scope.grants.map((g) => g.request);
    let issued;
    try {
      issued = await this.ca.issueTaskCert({
        csrPem: req.csr,
        identity: identity.name,
        notAfter,
        payload: {
          kind: identity.kind,
          task,
          requester: identity.name,
          roles: scope.roles,
          db: scope.access,
          traits: identity.traits,
          loginSession: session.id,
          ...(accessRequest.length ? { accessRequest: accessRequest.join(',') } : {}),
        },
      });
    } catch (err) {
      if (err instanceof CaError && err.isRequestFault) throw new ServerError(err.code, err.message);
      throw err;
    }
    await this.audit.write([{
      type: 'cert.issued',
      identity: { name: identity.name, kind: identity.kind, roles: scope.roles },
      task: { ...task, requester: identity.name },
      db: { service: scope.access.service, name: scope.access.names.join(','), user: scope.access.users[0]! },
      details: {
        serial: issued.serial,
        expiresAt: issued.notAfter.toISOString(),
        ttl: { requested: formatDuration(ttl), cap: formatDuration(cap), capBy },
        ...(accessRequest.length ? { grantedBy: accessRequest } : {}),
      },
    }]);
    return { cert: issued.pem, expiresAt: issued.notAfter.toISOString(), serial: issued.serial, task, db: scope.access };
  }

  /**
   * The roles a certificate is issued under. The login's own roles come first: when they grant the request, the
   * certificate is theirs alone. Roles granted just in time (approved requests) are used only for what the own
   * roles do not grant: a JIT grant widens what may be reached; it neither stretches the lifetime nor swaps the
   * rules and masking of access the login already has. Without --db-user, the chosen roles must name one user.
   */
  private async scopeFor(identity: Identity, req: CertRequest): Promise<CertScope> {
    const own = identity.roles.filter((r) => roleNamed(this.roles, r));
    const jit = new Map<string, JitGrant>();
    for (const g of await this.requests.grantedRoles(identity.name)) {
      // The same role approved twice: the grant that lasts longest counts.
      const seen = jit.get(g.role);
      if (!own.includes(g.role) && roleNamed(this.roles, g.role) && (!seen || g.until > seen.until)) jit.set(g.role, g);
    }
    const want = { service: req.db, user: req.dbUser, name: req.dbName };
    let found: RoleGrant[] = grantsFor(this.roles, own, want);
    if (found.length === 0) found = grantsFor(this.roles, [...jit.keys()], want);
    if (found.length === 0) this.refuse(identity, [...own, ...jit.keys()], req);
    const users = unique(found.flatMap((f) => f.grant.users));
    // A task certificate names one database user. Without --db-user: the grant's default, or the first it lists
    // (roles list their users least privileged first), when the grants that cover the request agree on it.
    const defaults = unique(found.map((f) => f.grant.defaultUser ?? f.grant.users[0]!));
    const user = req.dbUser ?? (users.length === 1 ? users[0] : defaults.length === 1 ? defaults[0] : undefined);
    if (user === undefined || user === '*') {
      throw new ServerError(ServerErrorCode.CERT_CHOOSE_USER, `choose a database user with --db-user (allowed on "${req.db}": ${users.join(', ')})`);
    }
    const used = found.filter((f) => allowsName(f.grant.users, user));
    const roles = unique(used.map((f) => f.role));
    const now = Date.now();
    const limits = new Map<string, number>();
    for (const role of roles) {
      const max = parseDuration(roleNamed(this.roles, role)!.maxTtl);
      const grant = jit.get(role);
      limits.set(role, grant ? Math.min(max, grant.until.getTime() - now) : max);
    }
    return {
      access: { service: req.db, names: req.dbName !== undefined ? [req.dbName] : unique(used.flatMap((f) => f.grant.names)), users: [user] },
      roles,
      grants: roles.flatMap((r) => jit.get(r) ?? []),
      limits,
    };
  }

  /** No single grant covers the request: the policy's own words for what is missing, or that no one role covers it all. */
  private refuse(identity: Identity, roleNames: string[], req: CertRequest): never {
    try {
      resolveDatabaseAccess(this.roles, roleNames, { service: req.db, user: req.dbUser, name: req.dbName });
    } catch (err) {
      throw new ServerError((err as PolicyError).code, (err as PolicyError).message, 403);
    }
    throw new ServerError(
      ServerErrorCode.CERT_NO_GRANT,
      `no single role of ${identity.name} grants database user "${req.dbUser}" on database "${req.dbName}" of "${req.db}"`,
      403,
    );
  }
}
