// Task certificates: what the roles of a logged-in identity allow on one database, for one task, for a while.
import { randomBytes } from 'node:crypto';
import type { CertificateAuthority } from '../ca/index.js';
import { resolveDatabaseAccess, maxTtlOf, type Role } from '../policy/index.js';
import type { AuditLog } from '../audit/index.js';
import type { LoginSession } from './login-sessions.js';
import type { Locks } from './locks.js';
import type { AccessRequests } from './access-requests.js';
import { parseDuration } from './duration.js';

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

export class CertIssueError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 403,
  ) {
    super(message);
  }
}

const DEFAULT_TTL_MS = 60 * 60 * 1000;

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
    if (lock) throw new CertIssueError('AGENTDB_ERR_CERT_LOCKED', `${identity.name} is locked by ${lock.createdBy}: ${lock.reason}`);
    // Roles granted just in time (approved requests) join the login's roles until their grant ends. They
    // widen what may be asked for; they do not change the default: without --db-user the login's own
    // roles choose the database user when they grant the database at all.
    const grants = (await this.requests.grantedRoles(identity.name)).filter((g) => !identity.roles.includes(g.role));
    const ownGrantsDb = identity.roles.some((r) => this.roles[r]?.databases.some((g) => g.service === req.db || g.service === '*'));
    const roleNames = req.dbUser === undefined && ownGrantsDb ? [...identity.roles] : [...identity.roles, ...grants.map((g) => g.role)];
    let access;
    try {
      access = resolveDatabaseAccess(this.roles, roleNames, { service: req.db, user: req.dbUser, name: req.dbName });
    } catch (err) {
      throw new CertIssueError((err as { code: string }).code, (err as Error).message);
    }
    // A task certificate names one database user: the narrowest grant that does the task.
    if (access.users.length !== 1 || access.users[0] === '*') {
      throw new CertIssueError('AGENTDB_ERR_CERT_CHOOSE_USER', `choose a database user with --db-user (allowed on "${req.db}": ${access.users.join(', ')})`, 400);
    }
    const user = access.users[0]!;
    // The certificate carries the roles that grant this database user: their rules and settings apply.
    const grantingRoles = roleNames.filter((r) => this.roles[r]?.databases.some((g) => (g.service === req.db || g.service === '*') && (g.users.includes(user) || g.users.includes('*'))));
    const usedGrants = grants.filter((g) => grantingRoles.includes(g.role));
    const cap = maxTtlOf(this.roles, grantingRoles, parseDuration);
    let ttl = DEFAULT_TTL_MS;
    if (req.ttl) {
      try {
        ttl = parseDuration(req.ttl);
      } catch (err) {
        throw new CertIssueError('AGENTDB_ERR_CERT_TTL', (err as Error).message, 400);
      }
    }
    ttl = Math.min(ttl, cap);
    const notAfter = new Date(Math.min(Date.now() + ttl, session.expiresAt.getTime(), ...usedGrants.map((g) => g.until.getTime())));
    const task = { id: `tsk_${randomBytes(9).toString('base64url')}`, reason: req.task?.trim() || '(no reason given)' };
    const issued = await this.ca.issueTaskCert({
      csrPem: req.csr,
      identity: identity.name,
      notAfter,
      payload: {
        kind: identity.kind,
        task,
        requester: identity.name,
        roles: grantingRoles,
        db: access,
        traits: identity.traits,
        loginSession: session.id,
        ...(usedGrants.length ? { accessRequest: usedGrants.map((g) => g.request).join(',') } : {}),
      },
    });
    await this.audit.write([{
      type: 'cert.issued',
      identity: { name: identity.name, kind: identity.kind, roles: grantingRoles },
      task: { ...task, requester: identity.name },
      db: { service: access.service, name: access.names.join(','), user: access.users[0]! },
      details: { serial: issued.serial, expiresAt: issued.notAfter.toISOString(), ...(usedGrants.length ? { grantedBy: usedGrants.map((g) => g.request) } : {}) },
    }]);
    return { cert: issued.pem, expiresAt: issued.notAfter.toISOString(), serial: issued.serial, task, db: access };
  }
}
