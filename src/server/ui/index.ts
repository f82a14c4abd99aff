// The web console for the people who approve: /ui on the control plane's API listener. Server-rendered HTML, forms
// that work without script, one small script for the live list and the player (README "Web console").
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { registerAssets } from './assets.js';
import { registerAudit } from './audit.js';
import { sendPage, UiContext, type UiDeps } from './context.js';
import { UI_ERRORS, UiError } from './errors.js';
import { registerFeed } from './feed.js';
import { errorBody, page } from './layout.js';
import { registerPlayer } from './player.js';
import { registerRequests } from './requests.js';
import { securityHeaders } from './security.js';
import { registerSignIn } from './sign-in.js';
import { registerSubjects } from './subjects.js';

export type { UiDeps } from './context.js';
export { CONSOLE_PATH, requestPageUrl } from './links.js';

export async function registerUi(app: FastifyInstance, deps: UiDeps): Promise<void> {
  await app.register(
    async (ui) => {
      // Forms are url-encoded; only the console takes them (the API takes JSON). A repeated field keeps its first value.
      ui.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
        const form: Record<string, string> = {};
        for (const [k, v] of new URLSearchParams(body as string)) if (!(k in form)) form[k] = v;
        done(null, form);
      });
      ui.addHook('onRequest', async (_req, reply) => securityHeaders(reply));
      ui.setErrorHandler((err, req, reply) => answerError(err, req, reply));
      ui.setNotFoundHandler((req, reply) => answerError(new UiError(UI_ERRORS.NOT_FOUND, `there is no console page ${req.url.split('?')[0]}`), req, reply));
      const ctx = new UiContext(deps);
      registerAssets(ui);
      registerSignIn(ui, ctx);
      registerRequests(ui, ctx);
      registerFeed(ui, ctx);
      registerAudit(ui, ctx);
      registerSubjects(ui, ctx);
      registerPlayer(ui, ctx);
    },
    { prefix: '/ui' },
  );
}

/**
 * Any error as a page with its code and a fitting status: the console's own (UiError), the services' (access
 * requests, locks, durations, identity and sign-in: they carry a code and mostly a status), or an internal one.
 */
function answerError(err: unknown, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  const e = err as Partial<FastifyError> & { status?: number; code?: string };
  const code = typeof e.code === 'string' && e.code.startsWith('AGENTDB_ERR_') ? e.code : undefined;
  let status = typeof e.status === 'number' ? e.status : typeof e.statusCode === 'number' ? e.statusCode : code?.startsWith('AGENTDB_ERR_IDENTITY_') ? 400 : 500;
  // A coded error without a status (the store's, a recording's) is a fault, not the visitor's: a generic 500, its
  // text (a database's own words) only in the log.
  if (code === UI_ERRORS.SIGNED_OUT.code) {
    // A page asked for while signed out leads to the sign-in and back; a change is refused outright.
    if (req.method === 'GET' && !req.url.startsWith('/ui/events')) {
      return reply.status(303).header('location', `/ui/login?next=${encodeURIComponent(req.url)}`).send();
    }
    status = req.method === 'GET' ? 401 : 403;
  }
  if (status >= 500) {
    req.log.error(err);
    return sendPage(reply, page('Something went wrong', undefined, errorBody(UI_ERRORS.INTERNAL.code, 'internal error in the control plane; see its log')), 500);
  }
  const message = (err as Error).message;
  return sendPage(reply, page(status === 403 ? 'Refused' : status === 404 ? 'Not found' : 'Could not do that', undefined, errorBody(code ?? UI_ERRORS.BAD_REQUEST.code, message, signInAgain(code))), status);
}

/** Errors after which the way on is to sign in (again): no session, or a sign-in that failed. */
function signInAgain(code: string | undefined): boolean {
  return code === UI_ERRORS.SIGNED_OUT.code || code === UI_ERRORS.SIGN_IN.code || !!code?.startsWith('AGENTDB_ERR_IDENTITY_');
}
