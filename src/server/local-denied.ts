// POST /v1/audit/local-denied: an `agentdb proxy` reports that a local client failed its password check.
// The identity is the caller's login (the token), never the body's; the task is taken from the audit log's
// own cert.issued event when it is one of the caller's, so a report cannot put words in another's task.
import { z } from 'zod';
import type { AuditLog } from '../audit/index.js';
import type { LoginSession } from './login-sessions.js';

export const localDeniedBody = z.object({
  task: z.string().min(1).max(200),
  client: z.string().max(300),
  reason: z.string().max(500),
  /** failures the proxy folded into this one report */
  attempts: z.number().int().min(1).max(1_000_000),
});

export const LOCAL_DENIED_MESSAGE = 'local client failed proxy authentication';

export async function recordLocalDenial(audit: AuditLog, session: LoginSession, body: z.infer<typeof localDeniedBody>): Promise<{ ok: true }> {
  const identity = session.identity;
  const issued = (await audit.search({ type: 'cert.issued', user: identity.name, task: body.task, limit: 20 }))
    .find((e) => e.task?.id === body.task && e.identity?.name === identity.name);
  await audit.write([{
    type: 'db.session.denied',
    identity: { name: identity.name, kind: identity.kind, roles: issued?.identity?.roles ?? identity.roles },
    ...(issued?.task ? { task: issued.task } : {}),
    ...(issued?.db ? { db: issued.db } : {}),
    client: { addr: body.client },
    message: LOCAL_DENIED_MESSAGE,
    details: { reason: body.reason, attempts: body.attempts, ...(issued ? {} : { claimedTask: body.task }) },
  }]);
  return { ok: true };
}
