// Audit search with the CLI's filters (the same query and filter as `agentdb audit search`), and the event table the
// identity and task pages show too; every session id links to its player.
import type { FastifyInstance } from 'fastify';
import type { AuditEvent } from '../../audit/index.js';
import { auditFilter, auditSearchQuery, type AuditSearchQuery } from '../audit-query.js';
import { sendPage, type UiContext } from './context.js';
import { UI_ERRORS, UiError } from './errors.js';
import { html, uiHref, type Html } from './html.js';
import { page, when } from './layout.js';

/** The filters, in the order `agentdb audit search` lists them. */
const FILTERS: { name: keyof AuditSearchQuery; label: string; hint: string }[] = [
  { name: 'user', label: 'Identity', hint: 'demo-agent' },
  { name: 'db', label: 'Database', hint: 'customers' },
  { name: 'task', label: 'Task', hint: 'id or words of its text' },
  { name: 'sid', label: 'Session', hint: 'session id' },
  { name: 'type', label: 'Type', hint: 'db.session.* or request.created' },
  { name: 'since', label: 'Since', hint: '1h or 2026-12-03T10:00Z' },
  { name: 'until', label: 'Until', hint: '10m or a time' },
  { name: 'query', label: 'Text', hint: 'words in the statement or message' },
  { name: 'limit', label: 'Limit', hint: '100' },
];

export function registerAudit(ui: FastifyInstance, ctx: UiContext): void {
  ui.get('/audit', async (req, reply) => {
    const viewer = await ctx.viewer(req);
    ctx.requireAudit(viewer);
    // Empty form fields are sent as empty strings: they are no filter, as an option left out of the CLI.
    const raw = Object.fromEntries(Object.entries(req.query as Record<string, unknown>).filter(([, v]) => typeof v === 'string' && v !== ''));
    const parsed = auditSearchQuery.safeParse(raw);
    if (!parsed.success) {
      const i = parsed.error.issues[0]!;
      throw new UiError(UI_ERRORS.BAD_REQUEST, `${i.path.join('.')}: ${i.message}`);
    }
    const q = parsed.data;
    const events = await ctx.deps.audit.search(auditFilter(q));
    const form = html`<form class="filters" method="get" action="/ui/audit">
${FILTERS.map((f) => html`<label>${f.label}<input type="text" name="${f.name}" value="${q[f.name] ?? ''}" placeholder="${f.hint}"></label>`)}
<button type="submit">Search</button>
</form>`;
    return sendPage(reply, page('Audit log', viewer, html`${form}<p class="muted">${events.length} events, newest last</p>${eventTable(events)}`));
  });
}

export function eventTable(events: AuditEvent[]): Html {
  if (events.length === 0) return html`<p class="empty">No events match.</p>`;
  return html`<table class="events">
<thead><tr><th>Time</th><th>Type</th><th>Identity</th><th>Task</th><th>Database</th><th>Session</th><th>Statement</th><th>Decision</th><th>Result</th></tr></thead>
<tbody>${events.map(eventRow)}</tbody>
</table>`;
}

function eventRow(e: AuditEvent): Html {
  const s = e.statement;
  const r = e.result;
  const result = r?.error ? html`<span class="sqlstate">${r.error.code}</span> ${r.error.message}` : r?.rows !== undefined ? `${r.rows} rows` : '';
  return html`<tr data-event-id="${e.id}" class="${e.type.replace(/\./g, '-')}">
<td class="time">${when(e.time)}</td>
<td>${e.type}</td>
<td>${e.identity ? html`<a href="${uiHref(['identities', e.identity.name])}">${e.identity.name}</a>` : ''}</td>
<td>${e.task ? html`<a href="${uiHref(['tasks', e.task.id])}" title="${e.task.id}">${e.task.reason || e.task.id}</a>` : ''}</td>
<td>${e.db ? `${e.db.service}/${e.db.name}` : ''}</td>
<td>${e.sid ? html`<a class="sid" href="${uiHref(['sessions', e.sid])}">${e.sid}</a>` : ''}</td>
<td>${s ? html`<code>${s.sql}</code>` : e.message ?? ''}</td>
<td>${s ? html`${s.decision}${s.rule ? html` <span class="rule">${s.rule}</span>` : ''}` : ''}</td>
<td>${result}</td>
</tr>`;
}
