// The control plane's HTTPS API. Every route but ping and login needs an agentdb login session token.
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { z } from 'zod';
import { IdentityError, IdentityErrorCode, resolveIdentity, unverifiedIssuer, type Identity, type IdentityMapping, type OidcLogin, type WorkloadIssuers } from '../identity/index.js';
import type { AuditLog, AuditEvent } from '../audit/index.js';
import { readRecording } from '../recording/index.js';
import type { Store } from '../store/index.js';
import type { Role } from '../policy/index.js';
import { LoginSessionError, type LoginSession, type LoginSessions } from './login-sessions.js';
import type { TaskCertIssuer } from './task-certs.js';
import { parseDuration } from './duration.js';
import { auditFilter, auditSearchQuery, mayReadAudit } from './audit-query.js';
import { publicView, type AccessRequests } from './access-requests.js';
import type { Locks } from './locks.js';
import { ServerError, ServerErrorCode } from './errors.js';
import type { LimitsConfig } from './config.js';
import { ActionLimits, LimitError } from './rate-limit.js';
import { DeviceLogins } from './device-logins.js';
import { admitConnections } from './http-admission.js';
import { localDeniedBody, recordLocalDenial } from './local-denied.js';
import { registerMaskingPlan } from './masking-plan.js';
import { registerAuditExport } from './audit-export.js';
import { registerUi } from './ui/index.js';

export interface ApiDeps {
  cluster: string;
  version: string;
  tls: { certPem: string; keyPem: string };
  /** the host CA, so clients can pin it */
  hostCaPem: string;
  gatewayAddr: { host: string; port: number };
  /** api.publicUrl: what browsers and webhook links use; default the URL the API listens on */
  publicUrl?: string;
  oidc: { issuer: string; audience: string; login(): Promise<OidcLogin> };
  mapping: IdentityMapping;
  /** CI issuers (auth.workload) whose job tokens log in as bots */
  workload: WorkloadIssuers;
  roles: Record<string, Role>;
  sessions: LoginSessions;
  certs: TaskCertIssuer;
  requests: AccessRequests;
  locks: Locks;
  audit: AuditLog;
  store: Store;
  limits: LimitsConfig;
  log: boolean;
}

/** An API error: HTTP status plus a stable code and a one-line message the CLI prints as is. */
class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const certBody = z.object({
  // A P-256 CSR in PEM is well under 1 KiB even with a long name; nothing larger reaches the ASN.1 parser.
  csr: z.string().min(1).max(4096),
  db: z.string().min(1).max(200),
  dbUser: z.string().min(1).max(200).optional(),
  dbName: z.string().min(1).max(200).optional(),
  task: z.string().max(2000).optional(),
  ttl: z.string().max(20).optional(),
});
const tokenBody = z.object({ token: z.string().min(1).max(20_000) });
const pollBody = z.object({ loginId: z.string().min(1).max(100) });
const roleRequestBody = z.object({ role: z.string().min(1).max(200), reason: z.string().max(2000) });
const denyBody = z.object({ reason: z.string().max(2000).optional() });
const lockBody = z.object({ user: z.string().min(1).max(200).optional(), task: z.string().min(1).max(200).optional(), reason: z.string().max(2000), ttl: z.string().max(20).optional(), future: z.boolean().optional() });
const requestsQuery = z.object({ state: z.enum(['pending', 'approved', 'denied', 'expired']).optional() });

function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const r = schema.safeParse(value ?? {});
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new ApiError(400, ServerErrorCode.API_BAD_REQUEST, `${i.path.join('.') || 'body'}: ${i.message}`);
  }
  return r.data;
}

const DEVICE_LOGIN_WAIT_MS = 20_000;
/** Socket inactivity allowed while a request is being answered: longer than the device login's long poll. */
const CONNECTION_TIMEOUT_MS = 3 * DEVICE_LOGIN_WAIT_MS;

export async function startApi(deps: ApiDeps, listen: { host: string; port: number }): Promise<{ app: FastifyInstance; url: string }> {
  const limits = deps.limits.api;
  const requestTimeout = parseDuration(limits.requestTimeout);
  const app = Fastify({
    https: { cert: deps.tls.certPem, key: deps.tls.keyPem, minVersion: 'TLSv1.2', handshakeTimeout: parseDuration(limits.handshakeTimeout) },
    logger: deps.log ? { level: 'info', redact: ['req.headers.authorization'] } : false,
    bodyLimit: limits.bodyLimit,
    connectionTimeout: CONNECTION_TIMEOUT_MS,
    keepAliveTimeout: parseDuration(limits.keepAliveTimeout),
    requestTimeout,
    // A URL the router cannot take (bad encoding, an over-long path parameter) is the client's error, coded like ours.
    frameworkErrors: (err, _req, reply: FastifyReply) => reply.status(400).send({ error: { code: ServerErrorCode.API_BAD_REQUEST, message: err.message } }),
  });
  // node checks headersTimeout <= requestTimeout; headers alone get no longer than the whole request.
  app.server.headersTimeout = requestTimeout;
  admitConnections(app.server, { ...limits.unauthenticated, timeoutMs: parseDuration(limits.unauthenticated.timeout) });

  const deviceLogins = new DeviceLogins(deps.limits.pendingDeviceLogins);
  app.addHook('onClose', async () => deviceLogins.close());
  const rates = deps.limits.rates;
  const deviceLoginLimit = new ActionLimits('device logins', rates.deviceLogins);
  const tokenLoginLimit = new ActionLimits('token logins', rates.tokenLogins);
  const certLimit = new ActionLimits('certificates', rates.certs);
  const requestLimit = new ActionLimits('access requests', rates.requests);

  const authed = async (req: FastifyRequest): Promise<LoginSession> => {
    const header = req.headers.authorization ?? '';
    try {
      return await deps.sessions.verify(header.startsWith('Bearer ') ? header.slice(7) : undefined);
    } catch (err) {
      if (err instanceof LoginSessionError) throw new ApiError(401, err.code, err.message);
      throw err;
    }
  };
  const mayAudit = (s: LoginSession) => {
    if (!mayReadAudit(deps.roles, s.identity)) {
      throw new ApiError(403, ServerErrorCode.API_FORBIDDEN, `${s.identity.name} holds no role that may read the audit log`);
    }
  };
  const startSession = async (
    claims: Record<string, unknown>,
    defaultKind: Identity['kind'],
    how: string,
    identify = (c: Record<string, unknown>) => resolveIdentity(c, deps.mapping, defaultKind),
  ) => {
    let identity: Identity;
    try {
      identity = identify(claims);
    } catch (err) {
      if (err instanceof IdentityError) throw new ApiError(403, err.code, err.message);
      throw err;
    }
    const { token, session } = await deps.sessions.create(identity);
    await deps.audit.write([{ type: 'login', identity: { name: identity.name, kind: identity.kind, roles: identity.roles }, details: { method: how, loginSession: session.id, expiresAt: session.expiresAt.toISOString() } }]);
    return { token, identity, expiresAt: session.expiresAt.toISOString() };
  };

  app.setErrorHandler((err, _req, reply: FastifyReply) => {
    if (err instanceof LimitError) return reply.status(err.status).header('retry-after', String(err.retryAfterS)).send({ error: { code: err.code, message: err.message } });
    if (err instanceof ApiError) return reply.status(err.status).send({ error: { code: err.code, message: err.message } });
    if (err instanceof ServerError) return reply.status(err.status).send({ error: { code: err.code, message: err.message } });
    if (err instanceof IdentityError) return reply.status(401).send({ error: { code: err.code, message: err.message } });
    const status = (err as { statusCode?: number }).statusCode;
    if (status && status < 500) return reply.status(status).send({ error: { code: ServerErrorCode.API_BAD_REQUEST, message: (err as Error).message } });
    _req.log.error(err);
    return reply.status(500).send({ error: { code: ServerErrorCode.API_INTERNAL, message: 'internal error in the control plane; see its log' } });
  });

  app.get('/v1/ping', async () => ({
    cluster: deps.cluster,
    version: deps.version,
    auth: { issuer: deps.oidc.issuer, audience: deps.oidc.audience, workload: deps.workload.audiences() },
    gateway: deps.gatewayAddr,
  }));

  // The IdP is polled for a login only while a client's long poll waits for it (pollWhenWatched).
  app.post('/v1/login/device', async (req) => {
    deviceLoginLimit.take(req.ip);
    const { loginId, login: started } = await deviceLogins.start(req.ip, async () => (await deps.oidc.login()).startDeviceLogin({ pollWhenWatched: true }));
    return {
      loginId,
      userCode: started.userCode,
      verificationUri: started.verificationUri,
      verificationUriComplete: started.verificationUriComplete,
      expiresIn: started.expiresIn,
      interval: started.interval,
    };
  });

  // Long poll: answers as soon as the person finishes at the IdP, or after ~20 s with "pending".
  app.post('/v1/login/device/poll', async (req, reply) => {
    const { loginId } = parse(pollBody, req.body);
    const pending = deviceLogins.get(loginId);
    if (!pending) throw new ApiError(404, ServerErrorCode.LOGIN_UNKNOWN, 'this login attempt expired or is unknown; run `agentdb login` again');
    let timer: NodeJS.Timeout | undefined;
    let gone: (() => void) | undefined;
    const unwatch = pending.watch();
    const waited = await Promise.race([
      pending.result.then((claims) => ({ claims }), (err: Error) => ({ err })),
      new Promise<'pending'>((resolve) => {
        timer = setTimeout(() => resolve('pending'), DEVICE_LOGIN_WAIT_MS);
        // A client that hangs up stops the IdP polling it caused at once, not 20 s later.
        gone = () => resolve('pending');
        reply.raw.once('close', gone);
      }),
    ]);
    clearTimeout(timer);
    reply.raw.off('close', gone!);
    unwatch();
    if (waited === 'pending') return reply.status(202).send({ status: 'pending' });
    deviceLogins.end(loginId);
    if ('err' in waited) throw new ApiError(401, (waited.err as { code?: string }).code ?? ServerErrorCode.LOGIN_FAILED, waited.err.message);
    return startSession(waited.claims, 'human', 'oidc-device');
  });

  // Bots, agents and CI jobs: a JWT from the IdP (client credentials) or the CI system's own OIDC token.
  app.post('/v1/login/token', async (req) => {
    // Limits count the work a request causes; a malformed one is refused for next to nothing first.
    const { token } = parse(tokenBody, req.body);
    tokenLoginLimit.take(req.ip);
    // The issuer picks the path; each path verifies the token against that issuer's keys only.
    const iss = unverifiedIssuer(token);
    if (deps.workload.lists(iss)) {
      const verified = await deps.workload.verify(token);
      return startSession(verified, 'bot', 'workload', (c) => deps.workload.identify(c));
    }
    const login = await deps.oidc.login();
    if (iss !== login.issuer) {
      throw new IdentityError(IdentityErrorCode.TOKEN_ISSUER, `the token's issuer ${JSON.stringify(iss)} is neither the login issuer (auth.oidc) nor listed under auth.workload`);
    }
    const claims = await login.verifyAccessToken(token);
    return startSession(claims, 'bot', 'oidc-token');
  });

  app.post('/v1/logout', async (req) => {
    const s = await authed(req);
    await deps.sessions.revoke(s.id);
    return { ok: true };
  });

  app.get('/v1/whoami', async (req) => {
    const s = await authed(req);
    return { identity: s.identity, expiresAt: s.expiresAt.toISOString() };
  });

  app.post('/v1/certs', async (req) => {
    const s = await authed(req);
    const body = parse(certBody, req.body);
    certLimit.take(req.ip, s.identity.name);
    const issued = await deps.certs.issue(s, body);
    return { ...issued, gateway: deps.gatewayAddr, caPem: deps.hostCaPem };
  });

  app.get('/v1/audit/events', async (req) => {
    const s = await authed(req);
    mayAudit(s);
    const events: AuditEvent[] = await deps.audit.search(auditFilter(parse(auditSearchQuery, req.query)));
    return { events };
  });

  app.get('/v1/audit/verify', async (req) => {
    mayAudit(await authed(req));
    return deps.audit.verify();
  });

  // Any logged-in proxy may report against its own identity: the event is written as the caller.
  app.post('/v1/audit/local-denied', async (req) => recordLocalDenial(deps.audit, await authed(req), parse(localDeniedBody, req.body)));
  registerMaskingPlan(app, { authed, audit: deps.audit, roles: deps.roles });
  registerAuditExport(app, { auditor: async (req) => mayAudit(await authed(req)), parse, audit: deps.audit });

  app.get('/v1/sessions/:sid/recording', async (req) => {
    mayAudit(await authed(req));
    const { sid } = req.params as { sid: string };
    const rec = await readRecording(deps.store, sid);
    if (!rec) throw new ApiError(404, ServerErrorCode.RECORDING_NOT_FOUND, `no recorded session ${sid}`);
    return rec;
  });

  app.post('/v1/requests', async (req) => {
    const s = await authed(req);
    const body = parse(roleRequestBody, req.body);
    requestLimit.take(req.ip, s.identity.name);
    return publicView(await deps.requests.createRoleRequest(s.identity, body.role, body.reason));
  });

  // Everyone sees their own requests; reviewers see the rest too (the CLI shows what they may decide).
  app.get('/v1/requests', async (req) => {
    const s = await authed(req);
    const q = parse(requestsQuery, req.query);
    const visible = await deps.requests.visibleTo(s.identity, q.state);
    return { requests: visible.map((r) => ({ ...publicView(r), mayDecide: deps.requests.mayDecide(s.identity, r) })) };
  });

  app.post('/v1/requests/:id/approve', async (req) => {
    const s = await authed(req);
    return publicView(await deps.requests.decide(s.identity, (req.params as { id: string }).id, true));
  });

  app.post('/v1/requests/:id/deny', async (req) => {
    const s = await authed(req);
    const body = parse(denyBody, req.body);
    return publicView(await deps.requests.decide(s.identity, (req.params as { id: string }).id, false, body.reason));
  });

  // Locks are an incident response: the people who may read the audit log may also lock.
  app.post('/v1/locks', async (req) => {
    const s = await authed(req);
    mayAudit(s);
    const body = parse(lockBody, req.body);
    return deps.locks.create(s.identity, { ...(body.user ? { user: body.user } : {}), ...(body.task ? { task: body.task } : {}) }, body.reason, body.ttl, body.future);
  });

  app.get('/v1/locks', async (req) => {
    mayAudit(await authed(req));
    return { locks: deps.locks.list() };
  });

  app.delete('/v1/locks/:id', async (req) => {
    const s = await authed(req);
    mayAudit(s);
    await deps.locks.remove(s.identity, (req.params as { id: string }).id);
    return { ok: true };
  });

  // The web console (README "Web console"): its sign-in ends in the same login path as the CLI's (startSession).
  let listeningUrl = '';
  await registerUi(app, {
    roles: deps.roles, sessions: deps.sessions, requests: deps.requests, locks: deps.locks, audit: deps.audit, store: deps.store,
    oidc: deps.oidc, publicUrl: () => deps.publicUrl ?? listeningUrl, startSession,
  });

  await app.listen({ host: listen.host, port: listen.port });
  const port = (app.server.address() as { port: number }).port;
  const host = listen.host.includes(':') ? `[${listen.host}]` : listen.host;
  listeningUrl = `https://${host}:${port}`;
  return { app, url: listeningUrl };
}
