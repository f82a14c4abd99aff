// What the console's route modules share: the services they call, and the checks every page and form goes through.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuditLog } from '../../audit/index.js';
import type { Identity, OidcLogin } from '../../identity/index.js';
import type { Role } from '../../policy/index.js';
import type { Store } from '../../store/index.js';
import type { AccessRequests } from '../access-requests.js';
import { mayReadAudit } from '../audit-query.js';
import type { Locks } from '../locks.js';
import type { LoginSessions } from '../login-sessions.js';
import { UI_ERRORS, UiError } from './errors.js';
import type { Html } from './html.js';
import { checkStateChange, viewerOf, type Viewer } from './security.js';

export interface UiDeps {
  roles: Record<string, Role>;
  sessions: LoginSessions;
  requests: AccessRequests;
  locks: Locks;
  audit: AuditLog;
  store: Store;
  oidc: { login(): Promise<OidcLogin> };
  /** The control plane's URL as browsers reach it (api.publicUrl, else the listening URL): the callback is under it. */
  publicUrl(): string;
  /** The API's own login path: claims to identity and roles (the CLI's mapping), a login session, the login audit event. */
  startSession(claims: Record<string, unknown>, defaultKind: Identity['kind'], how: string): Promise<{ token: string; identity: Identity; expiresAt: string }>;
}

export class UiContext {
  constructor(readonly deps: UiDeps) {}

  viewer(req: FastifyRequest): Promise<Viewer> {
    return viewerOf(req, this.deps.sessions);
  }

  /** The viewer of a state-changing request, once its origin and CSRF token are checked; and its form fields. */
  async changer(req: FastifyRequest): Promise<{ viewer: Viewer; form: Record<string, string> }> {
    const viewer = await this.viewer(req);
    const form = formOf(req);
    checkStateChange(req, viewer, form);
    return { viewer, form };
  }

  /** Audit search, sessions and locks: the roles that may read the audit log (as the API's /v1/audit and /v1/locks). */
  requireAudit(viewer: Viewer): void {
    if (!mayReadAudit(this.deps.roles, viewer.session.identity)) {
      throw new UiError(UI_ERRORS.FORBIDDEN, `${viewer.session.identity.name} holds no role that may read the audit log`);
    }
  }

  mayAudit(viewer: Viewer): boolean {
    return mayReadAudit(this.deps.roles, viewer.session.identity);
  }
}

/** The fields of an url-encoded form (index.ts parses it); anything else is no form. */
export function formOf(req: FastifyRequest): Record<string, string> {
  const body = req.body;
  return body && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, string>) : {};
}

export function sendPage(reply: FastifyReply, body: Html, status = 200): FastifyReply {
  return reply.status(status).type('text/html; charset=utf-8').send(body.value);
}

/** After a form: back to a console page with GET (303), so a reload does not post again. */
export function seeOther(reply: FastifyReply, location: string): FastifyReply {
  return reply.status(303).header('location', location).send();
}
