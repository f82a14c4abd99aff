// Database users provisioned per identity and role set (README "Provisioned database users"). At session start the
// gateway, with an admin credential only it holds, creates or reactivates a LOGIN role for the identity, grants
// it exactly the configured group roles, limits it to the certificate's lifetime and logs in as it; when the last
// session of that role in this gateway ends, the role is dropped (mode drop) or stripped and disabled (mode keep).
//
// Serialisation: every change to one role runs in this process's queue for that role name AND in a transaction
// holding pg_advisory_xact_lock(hashtext(name)) on the admin database, so concurrent sessions (of this gateway or
// another one on the same PostgreSQL) never interleave a create with a drop or a grant with a revoke.
//
// Ownership: a role is ours only if its comment carries our marker (scope included). A role of the same name that
// lacks it is somebody else's: refused, never altered, never dropped.
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { SqlState, scramSecret } from '../pgwire/index.js';
import type { ProvisionPlan } from '../policy/index.js';
import type { BackendTarget } from './backend.js';
import { GatewayError, GatewayErrorCode } from './errors.js';

/** Every provisioned role's name starts with this. */
export const PROVISIONED_PREFIX = 'agentdb:';
const MAX_NAME_BYTES = 63; // NAMEDATALEN - 1: PostgreSQL would silently truncate a longer name
const HASH_CHARS = 10;
const MARKER = 'agentdb provisioned';

type ProvisionMode = ProvisionPlan['mode'];

export interface AdminLogin {
  user: string;
  password: string;
  /** where the admin connects for role changes (and where the advisory locks live) */
  database: string;
}

export interface ProvisionerLogger {
  warn(obj: object, msg?: string): void;
}

/** What a session logs in with; release() once the session is over (the last release deactivates the role). */
export interface ProvisionedLease {
  user: string;
  password: string;
  /** the session's backend, so that a task lock can terminate exactly it */
  bind(pid: number, task: { id: string; reason: string }): void;
  release(): void;
}

interface Marker {
  by: typeof MARKER;
  scope: string;
  identity: string;
  mode: ProvisionMode;
}

interface Active {
  identity: string;
  plan: ProvisionPlan;
  refs: number;
  /** random, per activation, only in this process's memory; PostgreSQL gets a SCRAM verifier of it */
  password: string;
  validUntil: Date;
  sessions: Map<number, { id: string; reason: string }>;
}

/**
 * The role name for an identity and role set: `agentdb:<identity>:<hash>`, at most 63 bytes. The hash covers the
 * scope, the whole identity and the sorted role set, so a truncated identity, another role set or another
 * agentdb cluster on the same PostgreSQL gets another name.
 */
export function provisionedRoleName(scope: string, identity: string, roles: readonly string[]): string {
  const set = [...new Set(roles)].sort();
  const hash = createHash('sha256').update(JSON.stringify([scope, identity, set])).digest('hex').slice(0, HASH_CHARS);
  // Control characters are legal in a quoted name but unreadable in pg_stat_activity and logs.
  const shown = identity.replace(/[\u0000-\u001f\u007f]/g, '_');
  return `${PROVISIONED_PREFIX}${truncateUtf8(shown, MAX_NAME_BYTES - PROVISIONED_PREFIX.length - 1 - HASH_CHARS)}:${hash}`;
}

function truncateUtf8(s: string, bytes: number): string {
  let out = '';
  let n = 0;
  for (const ch of s) {
    n += Buffer.byteLength(ch);
    if (n > bytes) break;
    out += ch;
  }
  return out;
}

/** The SCRAM-SHA-256 verifier PostgreSQL stores: the password itself never reaches the server (nor its logs). */
function scramVerifier(password: string): string {
  const s = scramSecret(password);
  return `SCRAM-SHA-256$${s.iterations}:${s.salt.toString('base64')}$${s.storedKey.toString('base64')}:${s.serverKey.toString('base64')}`;
}

function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function literal(v: string): string {
  return `'${v.replace(/'/g, "''")}'`;
}

function parseMarker(comment: string | null): Marker | undefined {
  if (!comment) return undefined;
  try {
    const m = JSON.parse(comment) as Partial<Marker>;
    return m.by === MARKER && typeof m.scope === 'string' && typeof m.identity === 'string' && (m.mode === 'keep' || m.mode === 'drop') ? (m as Marker) : undefined;
  } catch {
    return undefined;
  }
}

/** Why provisioning failed, in words the client can act on, with a SQLSTATE. */
function provisionError(name: string, err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  const e = err as { code?: string; message?: string };
  const why = e.message ?? String(err);
  if (e.code === SqlState.INSUFFICIENT_PRIVILEGE) {
    return new GatewayError(GatewayErrorCode.PROVISION_PRIVILEGE, `the gateway could not provision database user "${name}": ${why}`, undefined, undefined,
      'The admin user of this database needs CREATEROLE, ADMIN OPTION on the roles it grants and pg_signal_backend (README "Provisioned database users").');
  }
  if (!e.code || /^(08|57P|53)/.test(e.code)) {
    return new GatewayError(GatewayErrorCode.PROVISION_UNAVAILABLE, `the gateway could not provision database user "${name}": database unavailable (${why})`);
  }
  return new GatewayError(GatewayErrorCode.PROVISION, `the gateway could not provision database user "${name}": ${why}`, e.code);
}

function sslOptions(target: BackendTarget): pg.ClientConfig['ssl'] {
  if (target.sslmode === 'disable') return false;
  if (target.sslmode === 'require') return { rejectUnauthorized: false };
  return { rejectUnauthorized: true, ...(target.sslRootCert ? { ca: readFileSync(target.sslRootCert, 'utf8') } : {}) };
}

export class Provisioner {
  private readonly pools = new Map<string, pg.Pool>();
  private readonly active = new Map<string, Active>();
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(
    private readonly target: BackendTarget,
    /** held only here (and by the catalog connection, which reads pg_catalog as it) */
    readonly admin: AdminLogin,
    /** tells apart the roles of several agentdb clusters or services on one PostgreSQL */
    private readonly scope: string,
    private readonly log?: ProvisionerLogger,
  ) {}

  roleName(identity: string, roles: readonly string[]): string {
    return provisionedRoleName(this.scope, identity, roles);
  }

  /** Creates or reactivates the identity's role for this role set, valid until `validUntil`; see the file comment. */
  acquire(identity: string, plan: ProvisionPlan, validUntil: Date): Promise<ProvisionedLease> {
    const name = this.roleName(identity, plan.roles);
    return this.serial(name, async () => {
      const current = this.active.get(name);
      const password = current?.password ?? randomBytes(32).toString('base64url');
      const until = current && current.validUntil > validUntil ? current.validUntil : validUntil;
      try {
        await this.activate(name, { by: MARKER, scope: this.scope, identity, mode: current?.plan.mode ?? plan.mode }, plan.roles, password, until);
      } catch (err) {
        throw provisionError(name, err);
      }
      const a = current ?? { identity, plan, refs: 0, password, validUntil: until, sessions: new Map() };
      a.refs++;
      a.validUntil = until;
      this.active.set(name, a);
      let pid: number | undefined;
      let released = false;
      return {
        user: name,
        password,
        bind: (p, task) => {
          pid = p;
          a.sessions.set(p, task);
        },
        release: () => {
          if (released) return;
          released = true;
          if (pid !== undefined) a.sessions.delete(pid);
          void this.release(name).catch((err: Error) => this.log?.warn({ role: name, err: err.message }, 'provisioned role could not be deactivated; it is cleaned at the next gateway start'));
        },
      };
    });
  }

  /**
   * Ends what a lock covers at PostgreSQL: for a user lock, the identity's roles go NOLOGIN and every backend of
   * them is terminated; for a task lock, the backends of the covered sessions. Returns how many roles (user lock)
   * or backends (task lock) it acted on.
   */
  async lockOut(lock: { user?: string }, covers: (identity: string, task: { id: string; reason: string }) => boolean): Promise<number> {
    // What is open now is read before anything is awaited: the gateway ends the same sessions at once (and forgets
    // their backends), while a backend busy in a query keeps running until PostgreSQL is told to end it.
    const names = new Set([...this.active].filter(([, a]) => a.identity === lock.user).map(([n]) => n));
    const pids: number[] = [];
    for (const a of this.active.values()) for (const [pid, task] of a.sessions) if (covers(a.identity, task)) pids.push(pid);
    const pool = this.pool(this.admin.database);
    if (lock.user !== undefined) {
      for (const r of await this.ours()) if (r.marker.identity === lock.user) names.add(r.name);
      if (names.size === 0) return 0;
      // NOLOGIN first, so that nothing logs in again while the backends go; a role that the end of its last
      // session dropped meanwhile is skipped, and the backends are ended whatever happened to the roles.
      try {
        for (const n of names) await this.inTransaction(pool, n, async (c) => void ((await this.existing(c, n)) && (await c.query(`ALTER ROLE ${ident(n)} NOLOGIN`))));
      } finally {
        await pool.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = ANY($1)', [[...names]]);
      }
      return names.size;
    }
    if (pids.length === 0) return 0;
    const r = await pool.query('SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity WHERE pid = ANY($1) AND usename LIKE $2', [pids, `${PROVISIONED_PREFIX}%`]);
    return Number(r.rows[0].n);
  }

  /** Deactivates this scope's roles that no session of this gateway uses: the leftovers of a crash. */
  async cleanLeftovers(): Promise<string[]> {
    const cleaned: string[] = [];
    for (const r of await this.ours()) {
      if (this.active.has(r.name)) continue;
      await this.serial(r.name, () => this.deactivate(r.name, r.marker.mode));
      cleaned.push(r.name);
    }
    return cleaned;
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.queues.values()]);
    await Promise.all([...this.pools.values()].map((p) => p.end().catch(() => undefined)));
    this.pools.clear();
  }

  /** One change to a role at a time in this process: a release queued behind an acquire runs after it. */
  private serial<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const run = (this.queues.get(name) ?? Promise.resolve()).then(fn, fn);
    const tail = run.catch(() => undefined);
    this.queues.set(name, tail);
    void tail.then(() => {
      if (this.queues.get(name) === tail) this.queues.delete(name);
    });
    return run;
  }

  private async release(name: string): Promise<void> {
    await this.serial(name, async () => {
      const a = this.active.get(name);
      if (!a || --a.refs > 0) return;
      this.active.delete(name);
      await this.deactivate(name, a.plan.mode);
    });
  }

  private pool(database: string): pg.Pool {
    let p = this.pools.get(database);
    if (!p) {
      p = new pg.Pool({
        host: this.target.host,
        port: this.target.port,
        user: this.admin.user,
        password: this.admin.password,
        database,
        ssl: sslOptions(this.target),
        max: 2,
        idleTimeoutMillis: 10_000,
        connectionTimeoutMillis: 10_000,
        application_name: 'agentdb provisioning',
      });
      // An idle connection that dies (a restart) must not take the gateway down; the next query reconnects.
      p.on('error', () => undefined);
      this.pools.set(database, p);
    }
    return p;
  }

  /** Runs `fn` in a transaction on the admin database that holds the role's advisory lock. */
  private async inTransaction<T>(pool: pg.Pool, name: string, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const c = await pool.connect();
    let broken: Error | undefined;
    // A checked-out client has no listener of the pool's: a connection that dies mid-transaction fails the query, not the process.
    const onError = (err: Error) => (broken = err);
    c.on('error', onError);
    try {
      await c.query('BEGIN');
      await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [name]);
      const out = await fn(c);
      await c.query('COMMIT');
      return out;
    } catch (err) {
      await c.query('ROLLBACK').catch((e: Error) => (broken = e));
      throw err;
    } finally {
      c.off('error', onError);
      c.release(broken);
    }
  }

  /** The role's marker, undefined when absent; throws when a role of that name exists and is not ours. */
  private async existing(c: pg.PoolClient, name: string): Promise<Marker | undefined> {
    const r = await c.query<{ comment: string | null }>("SELECT shobj_description(oid, 'pg_authid') AS comment FROM pg_roles WHERE rolname = $1", [name]);
    if (r.rowCount === 0) return undefined;
    const m = parseMarker(r.rows[0]!.comment);
    if (!m || m.scope !== this.scope) {
      throw new GatewayError(GatewayErrorCode.PROVISION_COLLISION, `database role "${name}" exists and was not made by this agentdb gateway; it is left alone`, undefined, undefined,
        'Rename or drop that role, or change databases.<service>.admin.scope.');
    }
    return m;
  }

  // The verifier is set every time (same password while the role is active, a new salt): a role dropped behind
  // our back is recreated whole.
  private async activate(name: string, marker: Marker, roles: readonly string[], password: string, until: Date): Promise<void> {
    await this.inTransaction(this.pool(this.admin.database), name, async (c) => {
      const found = await this.existing(c, name);
      const attrs = `LOGIN INHERIT PASSWORD ${literal(scramVerifier(password))} VALID UNTIL ${literal(until.toISOString())}`;
      await c.query(found ? `ALTER ROLE ${ident(name)} WITH ${attrs}` : `CREATE ROLE ${ident(name)} WITH ${attrs}`);
      if (!found) await c.query(`COMMENT ON ROLE ${ident(name)} IS ${literal(JSON.stringify(marker))}`);
      await this.syncGrants(c, name, roles);
    });
  }

  /** Grants exactly `roles`: memberships outside the set are revoked. */
  private async syncGrants(c: pg.PoolClient, name: string, roles: readonly string[]): Promise<void> {
    const held = await c.query<{ rolname: string }>(
      'SELECT DISTINCT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = $1', [name]);
    const have = new Set(held.rows.map((r) => r.rolname));
    for (const g of have) if (!roles.includes(g)) await c.query(`REVOKE ${ident(g)} FROM ${ident(name)}`);
    for (const g of roles) if (!have.has(g)) await c.query(`GRANT ${ident(g)} TO ${ident(name)}`);
  }

  /** drop: the role and what it owns go; keep: no grants, NOLOGIN, no password. Its backends are ended first. */
  private async deactivate(name: string, mode: ProvisionMode): Promise<void> {
    const pool = this.pool(this.admin.database);
    // A closed session's backend exits a moment later; its temporary objects would keep DROP ROLE from working.
    await pool.query('SELECT pg_terminate_backend(pid, 2000) FROM pg_stat_activity WHERE usename = $1', [name]);
    const disable = () =>
      this.inTransaction(pool, name, async (c) => {
        if (!(await this.existing(c, name))) return;
        await this.syncGrants(c, name, []);
        await c.query(`ALTER ROLE ${ident(name)} WITH NOLOGIN PASSWORD NULL`);
      });
    if (mode === 'keep') return disable();
    try {
      await this.drop(pool, name);
    } catch (err) {
      // Something the admin cannot take away (a superuser's GRANT on a table the admin does not own) keeps the
      // role: it is disabled as `keep` would, and the drop is tried again at the next gateway start.
      await disable();
      throw new Error(`could not drop ${name} (${(err as Error).message}); disabled it instead (NOLOGIN, no grants, no password)`);
    }
  }

  private async drop(pool: pg.Pool, name: string): Promise<void> {
    // DROP OWNED works in one database at a time (every database where the role owns or was granted
    // something), and need the role's privileges: since PostgreSQL 16 the admin that created it has only ADMIN
    // OPTION on it, so it first makes itself a member (committed, so the other databases' connections see it).
    const deps = await this.dependentDatabases(pool, name);
    if (deps.length > 0) await this.inTransaction(pool, name, async (c) => void ((await this.existing(c, name)) && (await c.query(`GRANT ${ident(name)} TO CURRENT_USER`))));
    await this.inTransaction(pool, name, async (c) => {
      if (!(await this.existing(c, name))) return;
      for (const datname of await this.dependentDatabases(c, name)) {
        // Only DROP OWNED: what the identity made goes with it. Reassigning it to the admin would leave, say, a
        // SECURITY DEFINER function that then runs with the admin's rights (CREATEROLE).
        const sql = `DROP OWNED BY ${ident(name)}`;
        if (datname === this.admin.database) await c.query(sql);
        else await this.pool(datname).query(sql);
      }
      await c.query(`DROP ROLE ${ident(name)}`);
    });
  }

  private async dependentDatabases(q: pg.Pool | pg.PoolClient, name: string): Promise<string[]> {
    const r = await q.query<{ datname: string }>(
      `SELECT DISTINCT d.datname FROM pg_shdepend s JOIN pg_database d ON d.oid = s.dbid
       WHERE s.refclassid = 'pg_authid'::regclass AND s.refobjid = (SELECT oid FROM pg_roles WHERE rolname = $1)`, [name]);
    return r.rows.map((row) => row.datname);
  }

  /** This scope's provisioned roles, as PostgreSQL has them. */
  private async ours(): Promise<{ name: string; marker: Marker }[]> {
    const r = await this.pool(this.admin.database).query<{ rolname: string; comment: string | null }>(
      "SELECT rolname, shobj_description(oid, 'pg_authid') AS comment FROM pg_roles WHERE starts_with(rolname, $1)", [PROVISIONED_PREFIX]);
    return r.rows.flatMap((row) => {
      const m = parseMarker(row.comment);
      return m && m.scope === this.scope ? [{ name: row.rolname, marker: m }] : [];
    });
  }
}
