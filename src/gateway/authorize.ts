// Who may open this session: decided from the task certificate alone (the startup message asks, the
// certificate allows). Every refusal says why, in words the person at the client can act on.
import type tls from 'node:tls';
import { parseTaskCert, type TaskCertificate } from '../ca/index.js';
import { allowsName } from '../policy/index.js';
import { GatewayError, GatewayErrorCode } from './errors.js';

export interface AuthorizeInput {
  socket: tls.TLSSocket;
  params: Record<string, string>;
  /** database services this gateway fronts, with the database users it holds credentials for */
  services: Record<string, { users: string[] }>;
  isLoginSessionActive(id: string): Promise<boolean>;
  lockFor(identity: string, taskId: string, taskReason?: string): string | undefined;
  now?: Date;
}

export interface Authorized {
  cert: TaskCertificate;
  user: string;
  database: string;
}

/** The identity a refused certificate claims, for the audit log: unverified, so labelled as such by the caller. */
export function claimedIdentity(socket: tls.TLSSocket): { cert?: TaskCertificate; subject?: string } {
  const peer = socket.getPeerX509Certificate();
  if (!peer) return {};
  try {
    return { cert: parseTaskCert(peer.raw) };
  } catch {
    return { subject: /CN=([^\n,]+)/.exec(peer.subject)?.[1] };
  }
}

function deny(code: GatewayErrorCode, message: string, hint?: string): never {
  throw new GatewayError(code, message, undefined, undefined, hint);
}

const RENEW_HINT = 'Run `agentdb proxy --db NAME` again (or `agentdb login` if your login expired) to get a fresh task certificate.';

export async function authorizeSession(input: AuthorizeInput): Promise<Authorized> {
  const { socket, params } = input;
  const peer = socket.getPeerX509Certificate();
  if (!peer) deny(GatewayErrorCode.NO_CERT, 'no client certificate: the agentdb gateway accepts only task certificates', 'Connect through `agentdb proxy`, or give your client sslcert/sslkey from `agentdb proxy --format json`.');
  if (!socket.authorized) {
    const why = String(socket.authorizationError ?? 'unknown');
    if (why === 'CERT_HAS_EXPIRED') deny(GatewayErrorCode.CERT_EXPIRED, `task certificate expired at ${new Date(peer.validTo).toISOString()}`, RENEW_HINT);
    if (why === 'CERT_NOT_YET_VALID') deny(GatewayErrorCode.CERT_NOT_YET_VALID, `task certificate is not valid before ${new Date(peer.validFrom).toISOString()}`);
    deny(GatewayErrorCode.CERT_UNTRUSTED, `task certificate was not issued by this cluster's certificate authority (${why})`, RENEW_HINT);
  }
  let cert: TaskCertificate;
  try {
    cert = parseTaskCert(peer.raw);
  } catch (err) {
    deny(GatewayErrorCode.CERT_INVALID, `certificate is not an agentdb task certificate: ${(err as Error).message}`);
  }
  const now = input.now ?? new Date();
  if (cert.notAfter <= now) deny(GatewayErrorCode.CERT_EXPIRED, `task certificate expired at ${cert.notAfter.toISOString()}`, RENEW_HINT);
  if (!(await input.isLoginSessionActive(cert.payload.loginSession))) {
    deny(GatewayErrorCode.LOGIN_REVOKED, `the login behind this certificate (${cert.subject}) was ended or revoked`, 'Run `agentdb login` again.');
  }
  const locked = input.lockFor(cert.subject, cert.payload.task.id, cert.payload.task.reason);
  if (locked) deny(GatewayErrorCode.LOCKED, `${cert.subject} (task ${cert.payload.task.id}) is ${locked}`);
  if (params.replication !== undefined) deny(GatewayErrorCode.REPLICATION, 'replication connections are not allowed through the gateway');
  if (params.options !== undefined) {
    deny(GatewayErrorCode.STARTUP_OPTIONS, 'the "options" startup parameter is not allowed through the gateway: session settings are decided by policy', 'Unset PGOPTIONS, or the options setting of your client.');
  }
  const db = cert.payload.db;
  // Own keys only: a service named like an Object.prototype member must find nothing.
  const service = Object.hasOwn(input.services, db.service) ? input.services[db.service] : undefined;
  if (!service) deny(GatewayErrorCode.UNKNOWN_SERVICE, `this gateway does not serve database "${db.service}"`);
  const user = params.user ?? '';
  if (!user) deny(GatewayErrorCode.NO_USER, 'the startup message names no user');
  if (!allowsName(db.users, user)) {
    deny(GatewayErrorCode.DB_USER, `database user "${user}" is not allowed by your task certificate for "${db.service}" (allowed: ${db.users.join(', ')})`);
  }
  if (!service.users.includes(user)) deny(GatewayErrorCode.DB_USER, `the gateway holds no credential for database user "${user}" on "${db.service}"`);
  const database = params.database || user;
  if (!allowsName(db.names, database)) {
    deny(GatewayErrorCode.DB_NAME, `database "${database}" is not allowed by your task certificate for "${db.service}" (allowed: ${db.names.join(', ')})`);
  }
  return { cert, user, database };
}
