// Wires the control plane and the gateway into one process: store, audit, CAs, login, API, gateway.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pino } from 'pino';
import { CertificateAuthority } from '../ca/index.js';
import { AuditLog, loadOrCreateCheckpointKey } from '../audit/index.js';
import { openPostgresStore, openSqliteStore, startSqliteWriter, type BulkWriter, type Store } from '../store/index.js';
import { OidcLogin, WorkloadIssuers } from '../identity/index.js';
import { Gateway, Provisioner, type GatewayDatabase } from '../gateway/index.js';
import { loadParser, compilePolicy, sessionSettingsFor, budgetFor, reviewTimeoutFor, roleTable, rowsOverFor, provisionPlanFor } from '../policy/index.js';
import { ConfigError, resolveSecret, splitHostPort, type Config } from './config.js';
import { parseDuration } from './duration.js';
import { LoginSessions } from './login-sessions.js';
import { TaskCertIssuer } from './task-certs.js';
import { startApi } from './api.js';
import { AccessRequests } from './access-requests.js';
import { Locks, lockCovers } from './locks.js';
import { Revocation } from './revocation.js';
import { Webhook } from './webhook.js';
import { requestPageUrl } from './ui/index.js';
import { closeSessionsLeftOpen, gatewayInstance } from './open-sessions.js';
import { compileMasking, loadOrCreateHashKey, type MaskingBlockInput, type MaskingPolicy } from '../masking/index.js';

export interface RunningServer {
  apiUrl: string;
  gateway: { host: string; port: number };
  caFile: string;
  dataDir: string;
  store: Store;
  /** the audit log (search and verify flush what is still only journalled) */
  audit: AuditLog;
  close(): Promise<void>;
}

export interface ServerOptions {
  dataDir: string;
  version: string;
  /** structured logs on stderr */
  log?: boolean;
}

const SERVER_CERT_TTL_MS = 365 * 24 * 3600 * 1000;
const GATEWAY_SETTINGS = ['application_name'];

/**
 * The store and the writer that takes bulk writes (audit ingestion, recordings) off the relay's thread: for
 * SQLite a worker thread with its own connection; PostgreSQL's driver is asynchronous already.
 */
async function openStore(config: Config, dataDir: string): Promise<{ store: Store; writer: BulkWriter }> {
  const pgStore = config.store.postgres;
  if (pgStore) {
    const url = process.env[pgStore.urlEnv];
    if (!url) throw new ConfigError(`store.postgres.urlEnv: environment variable ${pgStore.urlEnv} is not set`);
    const store = await openPostgresStore(url, pgStore.schema ? { schema: pgStore.schema } : {});
    return { store, writer: { appendAudit: (r) => store.appendAudit(r), appendRecording: (r) => store.appendRecording(r), close: async () => undefined } };
  }
  const file = path.join(dataDir, 'agentdb.db');
  return { store: await openSqliteStore(file), writer: await startSqliteWriter(file) };
}

export async function startServer(config: Config, opts: ServerOptions): Promise<RunningServer> {
  const dataDir = path.resolve(opts.dataDir);
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const log = pino({ level: opts.log ? 'info' : 'silent' }, pino.destination(2));
  const { store, writer } = await openStore(config, dataDir);
  // The checkpoint key signs the chain head, so a cut tail shows (README "Audit tail and export").
  const signer = await loadOrCreateCheckpointKey(dataDir);
  const audit = await AuditLog.open(store, {
    journal: path.join(dataDir, 'audit.journal'),
    sink: writer,
    checkpoint: { signer, every: config.audit.checkpointEvery, onError: (err) => log.error({ code: (err as { code?: string }).code, err: err.message }, 'audit checkpoint') },
  });
  // Sessions a crash of this gateway left open are closed in the audit before it takes new ones (open-sessions.ts).
  const instance = await gatewayInstance(dataDir);
  // A log that cannot be written now (disk full) does not keep the server down: statements are refused until it
  // can be, and the next start tries again (the previous start's mark stays).
  await closeSessionsLeftOpen(store, audit, instance).then(
    (n) => n > 0 && log.warn({ sessions: n }, 'sessions left open by an earlier run closed in the audit log (gateway-restart)'),
    (err: Error) => log.error({ code: (err as { code?: string }).code, err: err.message }, 'sessions left open by an earlier run could not be closed in the audit log'),
  );
  const userCa = await CertificateAuthority.loadOrCreate(dataDir, 'user', config.cluster);
  const hostCa = await CertificateAuthority.loadOrCreate(dataDir, 'host', config.cluster);
  const apiListen = splitHostPort(config.api.listen);
  const gwListen = splitHostPort(config.gateway.listen);
  const hosts = [...new Set([...config.api.hosts, apiListen.host, gwListen.host])];
  const serverCert = await hostCa.issueServerCert({ hosts, ttlMs: SERVER_CERT_TTL_MS });
  const caFile = path.join(dataDir, 'ca.pem');
  await writeFile(caFile, hostCa.certPem, { mode: 0o644 });
  await loadParser();
  // Role names arrive from requests and certificates: every lookup by name finds a defined role or nothing.
  const roles = roleTable(config.roles);
  // Rules are compiled once: globs become predicates, and the gateway decides every statement synchronously.
  const policy = compilePolicy(roles, { protectedSettings: GATEWAY_SETTINGS });

  const databases: Record<string, GatewayDatabase> = {};
  for (const [name, db] of Object.entries(config.databases)) {
    const credentials: Record<string, string> = {};
    for (const [user, ref] of Object.entries(db.credentials)) credentials[user] = await resolveSecret(ref, `databases.${name}.credentials.${user}`);
    const target = { host: db.host, port: db.port, sslmode: db.sslmode, ...(db.sslRootCert ? { sslRootCert: db.sslRootCert } : {}) };
    // The provisioning admin (README "Provisioned database users"); what a crash left behind is cleaned before any session.
    const provisioner = db.admin
      ? new Provisioner(target, { user: db.admin.user, password: await resolveSecret(db.admin, `databases.${name}.admin`), database: db.admin.database }, db.admin.scope ?? `${config.cluster}/${name}`, log)
      : undefined;
    if (provisioner) {
      // PostgreSQL down at start does not keep the server from starting: leftovers have passwords nobody knows
      // and expire with their certificates (VALID UNTIL); the next start tries again.
      await provisioner.cleanLeftovers().then(
        (cleaned) => cleaned.length && log.info({ database: name, roles: cleaned }, 'provisioned roles left by an earlier run cleaned'),
        (err: Error) => log.warn({ database: name, err: err.message }, 'provisioned roles left by an earlier run could not be cleaned'),
      );
    }
    databases[name] = { target, credentials, ...(provisioner ? { provisioner } : {}) };
  }
  const provisioners = Object.values(databases).flatMap((d) => d.provisioner ?? []);

  // Masking is compiled once per combination of roles; the hash strategy's key lives in the data directory (0600).
  const hashKey = await loadOrCreateHashKey(dataDir);
  const maskings = new Map<string, MaskingPolicy | undefined>();
  const maskingFor = (names: readonly string[]): MaskingPolicy | undefined => {
    const key = names.join('\n');
    if (!maskings.has(key)) {
      const m = compileMasking(names.map((r) => roles[r]?.masking as MaskingBlockInput | undefined), hashKey);
      maskings.set(key, m.active ? m : undefined);
    }
    return maskings.get(key);
  };

  const hook = config.review.webhook;
  // Links to the web console use api.publicUrl, else the URL the API listens on (known once it does, below).
  let publicUrl = config.api.publicUrl ?? '';
  const webhook = hook
    ? new Webhook({ url: hook.url, ...(hook.secretEnv && process.env[hook.secretEnv] ? { secret: process.env[hook.secretEnv]! } : {}), onFailure: (err) => log.warn({ err: err.message }, 'review webhook failed'), requestUrl: (id) => requestPageUrl(publicUrl, id) })
    : undefined;
  // Revocation reaches open sessions: a lock ends the sessions it covers, an ended login the sessions its
  // certificates opened (revocation.ts; it sweeps the gateway once the gateway is up).
  const revocation = new Revocation(log);
  const locks = new Locks(store, audit, (lock) => {
    // Backends of provisioned users end at PostgreSQL too, whatever they are running, and a user lock disables the
    // roles; lockOut reads the covered sessions before the gateway ends them.
    for (const p of provisioners) {
      void p.lockOut(lock.target, (identity, task) => lockCovers(lock, identity, task)).catch((err: Error) => log.warn({ err: err.message, lock: lock.id }, 'lock could not reach provisioned database users'));
    }
    revocation.endLocked(lock);
  });
  await locks.load();
  const sessions = new LoginSessions(store, parseDuration(config.auth.sessionTtl), (id) => revocation.endLogin(id));
  const requests = new AccessRequests(store, audit, roles, locks, webhook);
  const gateway = new Gateway({
    host: gwListen.host,
    port: gwListen.port,
    tls: { certPem: serverCert.certPem, keyPem: serverCert.keyPem, userCaPem: userCa.certPem },
    databases,
    audit,
    recordings: writer,
    isLoginSessionActive: (id) => sessions.isActive(id),
    lockFor: (identity, taskId, taskReason) => {
      const l = locks.find(identity, taskId, taskReason);
      return l ? `locked by ${l.createdBy}: ${l.reason}` : undefined;
    },
    // application_name carries "agentdb <sid> <identity>" into pg_stat_activity: nobody may overwrite it.
    // The rules alone: the session's decision (policy decideStatements) then holds an allowed write of a role with
    // review.rowsOver (sessionPolicy's rowsOver) until its rows are counted.
    decide: (ctx, stmt) => policy.decide(ctx.identity, stmt),
    sessionPolicy: (ctx, traits) => ({
      // Agents and bots also get the idle-in-transaction and lock timeouts (AGENT_SESSION_DEFAULTS).
      settings: sessionSettingsFor(roles, ctx.identity.roles, traits, ctx.identity.kind),
      budget: budgetFor(roles, ctx.identity.roles, parseDuration),
      reviewTimeoutMs: reviewTimeoutFor(roles, ctx.identity.roles, parseDuration),
      rowsOver: rowsOverFor(roles, ctx.identity.roles),
      masking: maskingFor(ctx.identity.roles),
      provision: provisionPlanFor(roles, ctx.identity.roles, ctx.db.service),
    }),
    review: async (ctx, held, timeoutMs, onHeld) => {
      // The request, its audit events, the webhook and the reviewers get the statement as the audit log keeps it.
      const { shown, rule, message } = held;
      const statement = { ...shown, rule, ...(message ? { message } : {}) };
      const o = await requests.hold({ sid: ctx.sid, identity: ctx.identity, task: ctx.task, db: ctx.db, statement }, timeoutMs, onHeld);
      return o.approved ? { approved: true, by: o.by } : { approved: false, reason: o.reason };
    },
    unauthenticated: { ...config.limits.gateway.unauthenticated, timeoutMs: parseDuration(config.limits.gateway.unauthenticated.timeout) },
    maxMessageBytes: config.limits.gateway.maxMessageBytes,
    log,
    instance,
  });
  const gwAddr = await gateway.listen();
  revocation.start(gateway, { isLoginActive: (id) => sessions.isActive(id), refreshLocks: () => locks.refresh() });
  const gatewayAddr = config.gateway.publicAddr ? splitHostPort(config.gateway.publicAddr) : gwAddr;

  // Discovery waits for the first login, so the control plane starts even while the IdP is briefly down.
  const oidcCfg = config.auth.oidc;
  let oidc: Promise<OidcLogin> | undefined;
  const login = () => {
    oidc ??= (async () => {
      const clientSecret = oidcCfg.clientSecretEnv ? process.env[oidcCfg.clientSecretEnv] : oidcCfg.clientSecret;
      return OidcLogin.discover({ issuer: oidcCfg.issuer, clientId: oidcCfg.clientId, audience: oidcCfg.audience, ...(clientSecret ? { clientSecret } : {}) });
    })();
    oidc.catch(() => (oidc = undefined));
    return oidc;
  };

  const api = await startApi(
    {
      cluster: config.cluster,
      version: opts.version,
      tls: serverCert,
      hostCaPem: hostCa.certPem,
      gatewayAddr,
      ...(config.api.publicUrl ? { publicUrl: config.api.publicUrl } : {}),
      oidc: { issuer: oidcCfg.issuer, audience: oidcCfg.audience, login },
      mapping: { nameClaims: config.auth.nameClaims, groupsClaim: config.auth.groupsClaim, traitClaims: config.auth.traitClaims, bindings: config.auth.bindings },
      workload: new WorkloadIssuers(config.auth.workload),
      roles,
      sessions,
      certs: new TaskCertIssuer(userCa, roles, audit, locks, requests),
      requests,
      locks,
      audit,
      store,
      limits: config.limits,
      log: !!opts.log,
    },
    apiListen,
  );
  const apiUrl = config.api.publicUrl ?? api.url;
  publicUrl = apiUrl;
  log.info({ api: apiUrl, gateway: gatewayAddr }, 'agentdb server started');

  return {
    apiUrl,
    gateway: gatewayAddr,
    caFile,
    dataDir,
    store,
    audit,
    async close() {
      await api.app.close();
      revocation.stop();
      await gateway.close();
      await Promise.all(provisioners.map((p) => p.close()));
      await audit.close();
      await writer.close();
      await store.close();
    },
  };
}
