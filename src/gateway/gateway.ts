// The gateway is a standard PostgreSQL endpoint: it answers SSLRequest (and PostgreSQL 17's direct TLS with
// ALPN "postgresql"), requires a client certificate from our user CA, negotiates protocol 3.0/3.2, logs in to
// PostgreSQL with the credential it holds, and hands the pair of sockets to a GatewaySession.
import net from 'node:net';
import tls from 'node:tls';
import {
  SSL_ACCEPT, SSL_REFUSE, SqlState, StartupReader, authenticationOk, backendKeyData, cancelRequest, errorResponse,
  negotiateProtocolVersion, parameterStatus, readyForQuery, type StartupPacket,
} from '../pgwire/index.js';
import type { AuditEventInput, AuditLog } from '../audit/index.js';
import { RecordingWriter } from '../recording/index.js';
import type { Store } from '../store/index.js';
import { PROVISIONED_USER, type AnalyzedStatement, type BudgetLimits, type ProvisionPlan } from '../policy/index.js';
import { authorizeSession, claimedIdentity } from './authorize.js';
import { applySessionSettings, connectBackend, sendBackendCancel, type BackendTarget } from './backend.js';
import { TaskBudgets } from './task-budget.js';
import { CatalogCache } from './catalog.js';
import { SessionMasking } from './session-masking.js';
import type { MaskingPolicy } from '../masking/index.js';
import { CancelRegistry } from './cancel-registry.js';
import { openProbeConnection, reviewByEffect } from './effect-probe.js';
import { Admission, connectionKey, type AdmissionLimits, type AdmissionTicket } from './admission.js';
import { GatewayError, GatewayErrorCode } from './errors.js';
import { errorResponseOf } from './error-response.js';
import type { ProvisionedLease, Provisioner } from './provisioning.js';
import { sessionTag, taggedApplicationName } from './application-name.js';
import { GatewaySession, type HeldStatement, type ReviewOutcome, type SessionContext, type StatementDecision } from './session.js';

export interface GatewayDatabase {
  target: BackendTarget;
  /** database user -> password; only the gateway ever holds these */
  credentials: Record<string, string>;
  /** provisions the database user `auto` per identity and role set (provisioning.ts); absent: no such user */
  provisioner?: Provisioner;
}

export interface GatewayLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface GatewayOptions {
  host: string;
  port: number;
  tls: { certPem: string; keyPem: string; userCaPem: string };
  databases: Record<string, GatewayDatabase>;
  audit: AuditLog;
  /** where session recordings are written (batched, off the relay's thread) */
  recordings: Pick<Store, 'appendRecording'>;
  isLoginSessionActive(id: string): Promise<boolean>;
  /** why this identity or task is locked, or undefined */
  lockFor(identity: string, taskId: string, taskReason?: string): string | undefined;
  /** one statement by the identity's rules (the session adds review-by-effect, names, masking: policy decideStatements) */
  decide(ctx: SessionContext, stmt: AnalyzedStatement): StatementDecision;
  /** what the session's roles impose: forced settings, the task's data budget, how long a held statement waits.
   *  Throws (e.g. a trait a setting needs is missing) to refuse the session. */
  sessionPolicy(ctx: SessionContext, traits: Record<string, string[]>): SessionPolicy;
  /** holds a statement for review; resolves with the decision or the timeout. `onHeld` gets the request's id once it exists. */
  review(ctx: SessionContext, held: HeldStatement, timeoutMs: number, onHeld?: (requestId: string) => void): Promise<ReviewOutcome>;
  /** caps and deadline for connections whose certificate has not opened a session yet */
  unauthenticated?: AdmissionLimits;
  /** the largest frontend message a session may send (its length word); default PostgreSQL's 1 GiB - 1 */
  maxMessageBytes?: number;
  log?: GatewayLogger;
  /** this gateway's id, kept in its data dir: db.session.start carries it, so that the next start of the same
   *  gateway can close in the audit the sessions a crash left open (server/open-sessions.ts) */
  instance?: string;
}

export interface SessionPolicy {
  settings: Record<string, string>;
  budget: BudgetLimits;
  reviewTimeoutMs: number;
  /** UPDATE/DELETE/MERGE held by rule review:rows-over run without a person when they change at most this many rows */
  rowsOver?: number;
  /** what the session's roles mask; undefined when nothing is (results then pass without being decoded) */
  masking?: MaskingPolicy;
  /** what the database user `auto` is granted; undefined when the session's roles provision nothing */
  provision?: ProvisionPlan;
}

const NEWEST_MINOR = 2;
/** What the server config defaults to as well; see README "Limits" for why. */
export const DEFAULT_GATEWAY_ADMISSION: AdmissionLimits = { total: 1000, perAddress: 64, timeoutMs: 60_000 };
// Startup parameters passed on to PostgreSQL; the rest are dropped (user, database and application_name are
// set by the gateway; `options` and `replication` are refused in authorize).
const PASSED_PARAMS = new Set(['client_encoding', 'datestyle', 'timezone', 'intervalstyle', 'extra_float_digits', 'lc_monetary', 'lc_numeric', 'lc_time', 'bytea_output']);

export class Gateway {
  private server: net.Server | undefined;
  private readonly tlsAfterSslRequest: tls.Server;
  private readonly tlsDirect: tls.Server;
  private readonly cancels = new CancelRegistry();
  private readonly budgets = new TaskBudgets();
  /** the database services and the users the gateway holds credentials for, as authorization sees them */
  private readonly services: Record<string, { users: string[] }>;
  /** one catalog view per database and user the gateway logs in as, shared by their sessions */
  private readonly catalogs = new Map<string, CatalogCache>();
  readonly sessions = new Set<GatewaySession>();
  /** the login session behind each open session's certificate: revoking the login ends the session */
  private readonly loginSessionOf = new WeakMap<SessionContext, string>();
  private readonly pending = new Set<net.Socket>();
  /** connections not yet authorized, counted per source address; see admission.ts */
  private readonly admission: Admission;
  /** each held ticket by the connection's four-tuple, which the raw socket and its TLS socket share */
  private readonly tickets = new Map<string, AdmissionTicket>();
  private readonly startupTimeoutMs: number;
  /** set by close(): events that could not be written are no longer retried (the next start closes their sessions) */
  private closing = false;

  constructor(private readonly opts: GatewayOptions) {
    const limits = opts.unauthenticated ?? DEFAULT_GATEWAY_ADMISSION;
    this.admission = new Admission(limits);
    this.startupTimeoutMs = limits.timeoutMs;
    this.services = Object.fromEntries(Object.entries(opts.databases).map(([k, v]) => [k, { users: [...Object.keys(v.credentials), ...(v.provisioner ? [PROVISIONED_USER] : [])] }]));
    const base: tls.TlsOptions = {
      cert: opts.tls.certPem,
      key: opts.tls.keyPem,
      ca: opts.tls.userCaPem,
      minVersion: 'TLSv1.2',
      requestCert: true,
      // Untrusted certificates are refused after the handshake, with a PostgreSQL error that says why,
      // instead of a bare TLS alert the client cannot explain.
      rejectUnauthorized: false,
      handshakeTimeout: limits.timeoutMs,
    };
    // Sockets are handed to these (never listening) servers: that is what makes node:tls verify the client
    // certificate and fill in authorized/authorizationError. Direct TLS must name ALPN "postgresql", as
    // PostgreSQL 17 requires; after SSLRequest, ALPN is optional. Both select with a callback: it answers as
    // ALPNProtocols: ['postgresql'] would (a client offering only other protocols is refused), but node:tls copies
    // ALPNProtocols into every socket as a small pooled Buffer, which pins a whole 64 KiB pool slab for as long as
    // the session lives (with the backend key's copy, backend.ts: 4.3 KB of Buffers per idle session, 0.0 without both).
    const alpn = ({ protocols }: { protocols: string[] }) => (protocols.includes('postgresql') ? 'postgresql' : undefined);
    this.tlsAfterSslRequest = tls.createServer({ ...base, ALPNCallback: alpn });
    this.tlsDirect = tls.createServer({ ...base, ALPNCallback: alpn });
    this.tlsAfterSslRequest.on('secureConnection', (secure: tls.TLSSocket) => this.onSecure(secure, false));
    this.tlsDirect.on('secureConnection', (secure: tls.TLSSocket) => this.onSecure(secure, true));
    for (const srv of [this.tlsAfterSslRequest, this.tlsDirect]) srv.on('tlsClientError', (_err, socket) => socket.destroy());
  }

  async listen(): Promise<{ host: string; port: number }> {
    const server = net.createServer({ noDelay: true }, (socket) => this.onConnection(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port, this.opts.host, () => resolve());
    });
    const addr = server.address() as net.AddressInfo;
    return { host: addr.address, port: addr.port };
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const s of this.sessions) s.terminate(SqlState.ADMIN_SHUTDOWN, 'the agentdb gateway is shutting down');
    for (const s of this.pending) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    for (const c of this.catalogs.values()) c.close();
    await this.opts.audit.flush();
  }

  private onConnection(raw: net.Socket): void {
    raw.on('error', () => raw.destroy());
    // Destroying the raw socket also ends the TLS socket layered on it, so the deadline holds through the handshake.
    const ticket = this.admission.admit(raw.remoteAddress, () => raw.destroy());
    if (!ticket) {
      this.tooMany(raw);
      return;
    }
    const peer = connectionKey(raw);
    this.tickets.set(peer, ticket);
    this.pending.add(raw);
    raw.on('close', () => {
      this.pending.delete(raw);
      this.tickets.delete(peer);
      ticket.release();
    });
    raw.setTimeout(this.startupTimeoutMs, () => raw.destroy());
    const reader = new StartupReader();
    let first = true;
    const onData = (chunk: Buffer) => {
      try {
        if (first && chunk[0] === 0x16) {
          // Direct TLS (PostgreSQL 17+ sslnegotiation=direct): the first bytes are a TLS ClientHello.
          raw.off('data', onData);
          raw.pause();
          raw.unshift(chunk);
          this.upgrade(raw, true);
          return;
        }
        first = false;
        for (let pkt = reader.feed(chunk); pkt; pkt = reader.feed(Buffer.alloc(0))) {
          if (pkt.kind === 'gssenc') {
            raw.write(SSL_REFUSE);
            continue;
          }
          raw.off('data', onData);
          if (pkt.kind === 'ssl') {
            // Bytes sent after SSLRequest but before the handshake would be read as if encrypted (CVE-2021-23214).
            if (reader.takeRemainder().length > 0) throw new GatewayError(GatewayErrorCode.PROTOCOL, 'unexpected data after SSLRequest', SqlState.PROTOCOL_VIOLATION);
            raw.write(SSL_ACCEPT);
            this.upgrade(raw, false);
          } else if (pkt.kind === 'cancel') {
            this.cancel(pkt);
            raw.destroy();
          } else {
            this.refuse(raw, new GatewayError(GatewayErrorCode.TLS_REQUIRED, 'the agentdb gateway requires TLS with a task certificate', SqlState.INVALID_AUTHORIZATION, undefined,
              'Connect through `agentdb proxy --db NAME`, or with sslmode=require and the sslcert/sslkey it prints.'));
          }
          return;
        }
      } catch (err) {
        this.refuse(raw, asGatewayError(err));
      }
    };
    raw.on('data', onData);
  }

  private upgrade(raw: net.Socket, direct: boolean): void {
    // The raw socket's idle timer would keep running under TLS (its activity is counted on the TLS socket
    // from now on) and close every session after startupTimeoutMs of quiet. The TLS server's
    // handshakeTimeout covers the handshake, and onSecure starts a startup timer on the TLS socket.
    raw.setTimeout(0);
    (direct ? this.tlsDirect : this.tlsAfterSslRequest).emit('connection', raw);
  }

  private onSecure(secure: tls.TLSSocket, direct: boolean): void {
    this.pending.add(secure);
    secure.on('close', () => this.pending.delete(secure));
    secure.on('error', () => secure.destroy());
    // Cleared once the session is open (see open()).
    secure.setTimeout(this.startupTimeoutMs, () => secure.destroy());
    // ALPNCallback runs only when the client offers ALPN at all, so a direct handshake without the extension
    // got through it. PostgreSQL 17 refuses direct TLS without ALPN "postgresql" (it keeps cross-protocol
    // attacks from other TLS services out); so must we.
    if (direct && secure.alpnProtocol !== 'postgresql') {
      this.refuse(secure, new GatewayError(GatewayErrorCode.PROTOCOL, 'direct TLS connection without ALPN protocol "postgresql": use sslnegotiation=direct only with a client that sends it, or sslnegotiation=postgres', SqlState.PROTOCOL_VIOLATION));
      return;
    }
    this.readStartup(secure);
  }

  private readStartup(secure: tls.TLSSocket): void {
    const reader = new StartupReader();
    const onData = (chunk: Buffer) => {
      let pkt: StartupPacket | undefined;
      try {
        pkt = reader.feed(chunk);
        if (!pkt) return;
        secure.off('data', onData);
        if (pkt.kind === 'cancel') {
          this.cancel(pkt);
          secure.destroy();
          return;
        }
        if (pkt.kind !== 'startup') throw new GatewayError(GatewayErrorCode.PROTOCOL, `unexpected ${pkt.kind} request inside TLS`, SqlState.PROTOCOL_VIOLATION);
        if (pkt.major !== 3) throw new GatewayError(GatewayErrorCode.PROTOCOL, `unsupported frontend protocol ${pkt.major}.${pkt.minor}: server supports 3.0 to 3.${NEWEST_MINOR}`, SqlState.FEATURE_NOT_SUPPORTED);
      } catch (err) {
        this.refuse(secure, asGatewayError(err));
        return;
      }
      secure.pause();
      const remainder = reader.takeRemainder();
      this.open(secure, pkt, remainder).catch((err) => this.refuse(secure, asGatewayError(err)));
    };
    secure.on('data', onData);
  }

  private async open(secure: tls.TLSSocket, startup: Extract<StartupPacket, { kind: 'startup' }>, early: Buffer): Promise<void> {
    const clientAddr = `${secure.remoteAddress ?? ''}:${secure.remotePort ?? ''}`;
    const clientApp = startup.params.application_name || startup.params.fallback_application_name;
    const client = { addr: clientAddr, ...(clientApp ? { app: clientApp } : {}) };
    let auth;
    try {
      auth = await authorizeSession({ socket: secure, params: startup.params, services: this.services, isLoginSessionActive: this.opts.isLoginSessionActive, lockFor: this.opts.lockFor });
    } catch (err) {
      const claimed = claimedIdentity(secure);
      const p = claimed.cert?.payload;
      await this.audit([{
        type: 'db.session.denied',
        ...(claimed.cert && p ? { identity: { name: claimed.cert.subject, kind: p.kind, roles: p.roles }, task: { ...p.task, requester: p.requester } } : claimed.subject ? { identity: { name: claimed.subject, kind: 'human' as const, roles: [] } } : {}),
        db: { service: p?.db.service ?? '', name: startup.params.database ?? '', user: startup.params.user ?? '' },
        client,
        message: (err as Error).message + (claimed.cert && !secure.authorized ? ' (identity as claimed by an unverified certificate)' : ''),
      }]).catch(() => undefined);
      throw err;
    }
    const { cert, user, database } = auth;
    const p = cert.payload;
    const sid = GatewaySession.newSid();
    const ctx: SessionContext = {
      sid,
      identity: { name: cert.subject, kind: p.kind, roles: p.roles },
      task: { ...p.task, requester: p.requester },
      db: { service: p.db.service, name: database, user },
      client,
      expiresAt: cert.notAfter,
    };
    this.loginSessionOf.set(ctx, p.loginSession);
    let policy: SessionPolicy;
    try {
      policy = this.opts.sessionPolicy(ctx, p.traits);
    } catch (err) {
      const message = `your roles cannot open this session: ${(err as Error).message}`;
      await this.audit([{ type: 'db.session.denied', identity: ctx.identity, task: ctx.task, db: ctx.db, client, message }]).catch(() => undefined);
      throw new GatewayError(GatewayErrorCode.POLICY, message);
    }
    const dbConfig = this.opts.databases[p.db.service]!;
    const params: Record<string, string> = {};
    for (const [k, v] of Object.entries(startup.params)) if (PASSED_PARAMS.has(k.toLowerCase())) params[k] = v;
    // The forced settings go in the startup packet too: PostgreSQL's RESET ALL and DISCARD ALL go back to the values
    // a session started with, so a client's connection-pool reset keeps them (they win over the client's own).
    for (const [k, v] of Object.entries(policy.settings)) params[k] = v;
    // pg_stat_activity shows who is behind each connection: the client's own name, then the session id and the identity.
    params.application_name = taggedApplicationName(clientApp, sessionTag(sid, cert.subject));
    const wanted = Math.min(startup.minor, NEWEST_MINOR);
    let backend;
    let lease: ProvisionedLease | undefined;
    let login: { user: string; password: string };
    try {
      // The user `auto` is a role made now for this identity and role set (provisioning.ts); any other is a held credential.
      if (user === PROVISIONED_USER) {
        if (!dbConfig.provisioner || !policy.provision) throw new GatewayError(GatewayErrorCode.PROVISION_PLAN, `none of your roles says how to provision database user "${user}" on "${p.db.service}"`);
        lease = await dbConfig.provisioner.acquire(cert.subject, policy.provision, cert.notAfter);
        ctx.db.user = lease.user;
      }
      login = lease ?? { user, password: dbConfig.credentials[user]! };
      backend = await connectBackend(dbConfig.target, { ...login, database, params, minor: wanted });
    } catch (err) {
      lease?.release();
      await this.audit([{ type: 'db.session.start', sid, identity: ctx.identity, task: ctx.task, db: ctx.db, client, result: { error: { code: (err as GatewayError).sqlState ?? SqlState.CONNECTION_FAILURE, message: (err as Error).message } } }]).catch(() => undefined);
      throw err;
    }
    lease?.bind(backend.pid, ctx.task);
    // A lock placed while the role was being provisioned missed this session (it was in no list yet), and
    // provisioning may have re-enabled the role the lock disabled: asked again now.
    const lockedMeanwhile = lease ? this.opts.lockFor(cert.subject, p.task.id, p.task.reason) : undefined;
    if (lockedMeanwhile) {
      backend.socket.destroy();
      lease?.release();
      const message = `${cert.subject} (task ${p.task.id}) is ${lockedMeanwhile}`;
      await this.audit([{ type: 'db.session.denied', identity: ctx.identity, task: ctx.task, db: ctx.db, client, message }]).catch(() => undefined);
      throw new GatewayError(GatewayErrorCode.LOCKED, message);
    }
    const minor = Math.min(wanted, backend.minor);
    // The effect probe logs in as the session did (same user, startup parameters, forced settings): it sees the rows the session would.
    const probeLogin = { ...login, database, params: { ...params, application_name: `agentdb probe ${sid}`.slice(0, 63) }, minor: 0 };
    const probe = () => openProbeConnection(dbConfig.target, probeLogin, policy.settings);
    let reported: [string, string][];
    try {
      reported = await applySessionSettings(backend.socket, policy.settings);
    } catch (err) {
      backend.socket.destroy();
      lease?.release();
      throw err;
    }
    if (secure.destroyed) {
      backend.socket.destroy();
      lease?.release();
      return;
    }
    await this.audit([{ type: 'db.session.start', sid, identity: ctx.identity, task: ctx.task, db: ctx.db, client, details: { protocol: `3.${minor}`, certSerial: cert.serial, expiresAt: cert.notAfter.toISOString(), ...(this.opts.instance ? { gateway: this.opts.instance } : {}) } }]);

    // The closures made from here on live as long as the session: they keep the backend's key, not the whole
    // login (its ParameterStatus list), which was only needed for the client's startup.
    const { pid: backendPid, secret: backendSecret } = backend;
    const cancelBackend = () => void sendBackendCancel(dbConfig.target, backendPid, backendSecret, cancelRequest).catch(() => undefined);
    let session: GatewaySession | undefined;
    const key = this.cancels.issue(minor, () => {
      // A statement still waiting for review is withdrawn; one running at the database is cancelled there.
      if (!session?.cancelHeld()) cancelBackend();
    });
    const recording = new RecordingWriter(this.opts.recordings, {
      sid, identity: ctx.identity, task: ctx.task, db: ctx.db, client, startedAt: new Date().toISOString(),
    });
    const budget = this.budgets.for(ctx.task.id, ctx.identity.name, policy.budget, cert.notAfter);
    const masking = policy.masking ? new SessionMasking(policy.masking, this.catalogFor(p.db.service, database, user)) : undefined;
    session = new GatewaySession(ctx, secure, backend.socket, {
      audit: this.opts.audit,
      recording,
      decide: this.opts.decide,
      // Review-by-effect: the session's decision holds writes the rules allow, and the review counts their rows first.
      ...(policy.rowsOver !== undefined ? { rowsOver: policy.rowsOver } : {}),
      // Writes held for the rows they would change are counted on a connection of their own first (effect-probe.ts).
      review: (c, held, onHeld) => reviewByEffect(held, policy.rowsOver, probe, (h) => this.opts.review(c, h, policy.reviewTimeoutMs, onHeld)),
      cancelBackend,
      ...(this.opts.maxMessageBytes ? { maxMessageBytes: this.opts.maxMessageBytes } : {}),
      ...(budget ? { budget } : {}),
      ...(masking ? { masking } : {}),
      onEnd: (s) => {
        key.release();
        lease?.release();
        this.sessions.delete(s);
        const ms = Date.now() - s.startedAt;
        this.auditUntilWritten([{ type: 'db.session.end', sid, identity: ctx.identity, task: ctx.task, db: ctx.db, client, result: { rows: s.totals.rows, bytes: s.totals.bytes, ms }, message: s.endReason, details: { statements: s.totals.statements, denied: s.totals.denied, endedAt: new Date().toISOString() } }]);
        void recording.end({ endedAt: new Date().toISOString(), reason: s.endReason }).catch(() => undefined);
      },
    });
    this.sessions.add(session);
    this.pending.delete(secure);
    this.authenticated(secure);
    secure.setTimeout(0);

    const hello: Buffer[] = [];
    if (startup.minor > minor || startup.unrecognizedProtocolOptions.length > 0) hello.push(negotiateProtocolVersion(minor, startup.unrecognizedProtocolOptions));
    hello.push(authenticationOk());
    // The client sees the values in force after the role's settings were applied.
    const parameters = new Map(backend.parameters);
    for (const [name, value] of reported) parameters.set(name, value);
    for (const [name, value] of parameters) hello.push(parameterStatus(name, value));
    hello.push(backendKeyData(key.pid, key.secret), readyForQuery('I'));
    secure.write(Buffer.concat(hello));
    session.start();
    if (early.length > 0) secure.emit('data', early);
    secure.resume();
    this.opts.log?.info({ sid, identity: ctx.identity.name, db: ctx.db, task: ctx.task.id }, 'session started');
  }

  private catalogFor(service: string, database: string, user: string): CatalogCache {
    const key = JSON.stringify([service, database, user]);
    let c = this.catalogs.get(key);
    if (!c) {
      const db = this.opts.databases[service]!;
      c = new CatalogCache(
        // A provisioned user lives only as long as its sessions: the catalog (pg_catalog, readable by anyone) is read as the admin.
        async () => (await connectBackend(db.target, { ...(Object.hasOwn(db.credentials, user) || !db.provisioner ? { user, password: db.credentials[user]! } : { user: db.provisioner.admin.user, password: db.provisioner.admin.password }), database, params: { application_name: 'agentdb catalog' }, minor: 0 })).socket,
        { label: `${service}/${database}` },
      );
      this.catalogs.set(key, c);
    }
    return c;
  }

  /** Ends every open session that `match` selects (a lock, a revoked login), with a FATAL error that says why. */
  terminateWhere(match: (ctx: SessionContext, loginSession: string | undefined) => boolean, message: string): number {
    let n = 0;
    for (const s of this.sessions) {
      if (match(s.ctx, this.loginSessionOf.get(s.ctx))) {
        s.terminate(SqlState.INVALID_AUTHORIZATION, message);
        n++;
      }
    }
    return n;
  }

  /** The login sessions behind the open sessions, for a revocation check that runs outside this process's API. */
  openLoginSessions(): Set<string> {
    const ids = new Set<string>();
    for (const s of this.sessions) {
      const id = this.loginSessionOf.get(s.ctx);
      if (id !== undefined) ids.add(id);
    }
    return ids;
  }

  private audit(events: AuditEventInput[]): Promise<unknown> {
    return this.opts.audit.write(events);
  }

  /**
   * A session's end must reach the log even when it ended because the log could not be written (disk full): it is
   * written again, backing off to every 30 s, until it lands or the gateway closes (details.endedAt keeps when).
   */
  private auditUntilWritten(events: AuditEventInput[], retryMs = 1000): void {
    this.audit(events).catch(() => {
      if (!this.closing) setTimeout(() => this.auditUntilWritten(events, Math.min(retryMs * 2, 30_000)), retryMs).unref();
    });
  }

  private cancel(pkt: Extract<StartupPacket, { kind: 'cancel' }>): void {
    this.cancels.cancel(pkt.pid, pkt.secret);
  }

  /** The session is open: its connection no longer counts against the caps, and its deadline is off. */
  private authenticated(secure: tls.TLSSocket): void {
    const peer = connectionKey(secure);
    this.tickets.get(peer)?.release();
    this.tickets.delete(peer);
  }

  /**
   * Over a cap: closed at once, with what PostgreSQL says when it has no slot left. Nothing has been read, so
   * the answer is plain; a client that sent SSLRequest reads it as the server's refusal, as it does from
   * PostgreSQL (one that began with a direct TLS hello only sees the connection close).
   */
  private tooMany(raw: net.Socket): void {
    const message = 'too many connections waiting to authenticate at the agentdb gateway, from this address or in total';
    raw.end(errorResponse({ severity: 'FATAL', code: SqlState.TOO_MANY_CONNECTIONS, message }), () => raw.destroy());
    // A peer that never reads cannot hold the socket open through an unflushed write.
    setTimeout(() => raw.destroy(), 1000).unref();
  }

  private refuse(socket: net.Socket, err: GatewayError): void {
    if (socket.destroyed) return;
    socket.end(errorResponseOf(err, 'FATAL'));
    setTimeout(() => socket.destroy(), 1000).unref();
  }
}

function asGatewayError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  const e = err as { message?: string; sqlState?: string };
  return new GatewayError(GatewayErrorCode.PROTOCOL, e?.message ?? String(err), e?.sqlState ?? SqlState.PROTOCOL_VIOLATION);
}
