// An identity's page and a task's page: their recent audit events, the locks on them, and a form to lock them (the
// locks service, as `agentdb lock`: the same checks, the same audit event, open sessions ended at once).
import type { FastifyInstance } from 'fastify';
import type { LockRecord } from '../../store/index.js';
import { auditFilter } from '../audit-query.js';
import { sendPage, seeOther, type UiContext } from './context.js';
import { UI_ERRORS, UiError } from './errors.js';
import { html, uiHref, type Html } from './html.js';
import { csrfInput, page, when } from './layout.js';
import type { Viewer } from './security.js';
import { eventTable } from './audit.js';

type Subject = { user: string } | { task: string };

const RECENT = 50;

function subjectHref(s: Subject): string {
  return 'user' in s ? uiHref(['identities', s.user]) : uiHref(['tasks', s.task]);
}

export function registerSubjects(ui: FastifyInstance, ctx: UiContext): void {
  const { audit, locks } = ctx.deps;

  const show = async (viewer: Viewer, subject: Subject): Promise<Html> => {
    // The newest first: what happened just now is what a lock is about.
    const events = await audit.search({ ...auditFilter({ ...subject, limit: RECENT }), order: 'desc' });
    const held = locks.list().filter((l) => ('user' in subject ? l.target.user === subject.user : l.target.task === subject.task));
    const what = 'user' in subject ? 'identity' : 'task';
    return html`<section class="locks">
<h2>Locks</h2>
${held.length ? html`<ul>${held.map((l) => lockItem(l, viewer))}</ul>` : html`<p class="muted">No lock on this ${what}.</p>`}
<form method="post" action="/ui/locks" class="lock">
${csrfInput(viewer)}
<input type="hidden" name="${'user' in subject ? 'user' : 'task'}" value="${'user' in subject ? subject.user : subject.task}">
<label>Reason <input type="text" name="reason" required maxlength="2000" placeholder="incident 7"></label>
<label>For <input type="text" name="ttl" maxlength="20" placeholder="until unlocked, or 2h"></label>
<button type="submit" class="danger">Lock this ${what}</button>
</form>
<p class="muted">A lock ends its open sessions at once and refuses new certificates and sessions until it is lifted.</p>
</section>
<section><h2>Recent events, newest first</h2>${eventTable(events)}</section>`;
  };

  ui.get('/identities/:name', async (req, reply) => {
    const viewer = await ctx.viewer(req);
    ctx.requireAudit(viewer);
    const { name } = req.params as { name: string };
    return sendPage(reply, page(`Identity ${name}`, viewer, await show(viewer, { user: name })));
  });

  ui.get('/tasks/:id', async (req, reply) => {
    const viewer = await ctx.viewer(req);
    ctx.requireAudit(viewer);
    const { id } = req.params as { id: string };
    return sendPage(reply, page(`Task ${id}`, viewer, await show(viewer, { task: id })));
  });

  // Placing and lifting locks is an incident response: the roles that may read the audit log (as /v1/locks).
  ui.post('/locks', async (req, reply) => {
    const { viewer, form } = await ctx.changer(req);
    ctx.requireAudit(viewer);
    const user = form['user'] || undefined;
    const task = form['task'] || undefined;
    const ttl = form['ttl']?.trim() || undefined;
    // The API's bounds for a lock (/v1/locks): the reason is kept in the lock and in the audit log.
    for (const [field, value, max] of [['reason', form['reason'], 2000], ['ttl', ttl, 20], ['user', user, 200], ['task', task, 200]] as const) {
      if (value !== undefined && value.length > max) throw new UiError(UI_ERRORS.BAD_REQUEST, `the ${field} is longer than ${max} characters`);
    }
    const lock = await locks.create(viewer.session.identity, { ...(user ? { user } : {}), ...(task ? { task } : {}) }, form['reason'] ?? '', ttl);
    return seeOther(reply, subjectHref(lock.target.user !== undefined ? { user: lock.target.user } : { task: lock.target.task! }));
  });

  ui.post('/locks/:id/remove', async (req, reply) => {
    const { viewer } = await ctx.changer(req);
    ctx.requireAudit(viewer);
    const { id } = req.params as { id: string };
    const lock = locks.list().find((l) => l.id === id);
    if (!lock) throw new UiError(UI_ERRORS.NOT_FOUND, `no active lock ${id}`);
    await locks.remove(viewer.session.identity, id);
    return seeOther(reply, subjectHref(lock.target.user !== undefined ? { user: lock.target.user } : { task: lock.target.task! }));
  });
}

function lockItem(l: LockRecord, viewer: Viewer): Html {
  return html`<li data-lock-id="${l.id}">Locked by ${l.createdBy} ${when(l.createdAt)}: “${l.reason}”${l.expiresAt ? html` · until ${when(l.expiresAt)}` : ''}
<form method="post" action="${uiHref(['locks', l.id, 'remove'])}" class="inline">${csrfInput(viewer)}<button type="submit">Unlock</button></form></li>`;
}
