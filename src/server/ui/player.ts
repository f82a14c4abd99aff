// The session player: a recorded session's statements in order, with their time into the session, rows, SQLSTATEs
// and decisions; play / pause / speed replay them at their recorded pace (app.js). Read with the recording reader
// `agentdb play` uses (through the API), and its transcript below for those who prefer text.
import type { FastifyInstance } from 'fastify';
import { readRecording, renderTranscript, type RecordedStatement } from '../../recording/index.js';
import { sendPage, type UiContext } from './context.js';
import { UI_ERRORS, UiError } from './errors.js';
import { html, uiHref, type Html } from './html.js';
import { page, when } from './layout.js';

const SPEEDS = [0.25, 0.5, 1, 2, 5, 10];

export function registerPlayer(ui: FastifyInstance, ctx: UiContext): void {
  ui.get('/sessions/:sid', async (req, reply) => {
    const viewer = await ctx.viewer(req);
    ctx.requireAudit(viewer);
    const { sid } = req.params as { sid: string };
    const rec = await readRecording(ctx.deps.store, sid);
    if (!rec) throw new UiError(UI_ERRORS.NOT_FOUND, `no recorded session ${sid}`);
    const h = rec.header;
    const body = html`<dl class="session">
<dt>Identity</dt><dd><a href="${uiHref(['identities', h.identity.name])}">${h.identity.name}</a> <span class="muted">${h.identity.kind} · ${h.identity.roles.join(', ')}</span></dd>
<dt>Task</dt><dd><a href="${uiHref(['tasks', h.task.id])}">${h.task.reason || h.task.id}</a> <span class="muted">${h.task.id}</span></dd>
<dt>Database</dt><dd>${h.db.service} <span class="muted">database ${h.db.name} as ${h.db.user}</span></dd>
<dt>Client</dt><dd>${h.client.addr}${h.client.app ? ` · ${h.client.app}` : ''}</dd>
<dt>Started</dt><dd>${when(h.startedAt)}</dd>
<dt>Ended</dt><dd>${rec.end ? html`${when(rec.end.endedAt)}${rec.end.reason ? ` (${rec.end.reason})` : ''}` : 'still open'}</dd>
<dt>Audit</dt><dd><a href="${uiHref(['audit'], { sid })}">events of this session</a></dd>
</dl>
<div class="player" id="player" hidden>
<button type="button" data-action="play">Play</button>
<button type="button" data-action="pause" disabled>Pause</button>
<label>Speed <select data-action="speed">${SPEEDS.map((s) => html`<option value="${s}"${s === 1 ? html` selected` : ''}>${s}×</option>`)}</select></label>
<span class="clock" data-clock>0.0 s</span>
</div>
<table class="statements" id="statements">
<thead><tr><th>#</th><th>At</th><th>Statement</th><th>Decision</th><th>Rows</th><th>SQLSTATE</th><th>Time</th></tr></thead>
<tbody>${rec.statements.map(statementRow)}</tbody>
</table>
<details><summary>Transcript (as <code>agentdb play</code> prints it)</summary><pre class="transcript">${renderTranscript(rec)}</pre></details>`;
    return sendPage(reply, page(`Session ${sid}`, viewer, body));
  });
}

function statementRow(s: RecordedStatement, i: number): Html {
  const outcome = s.error ? 'error' : s.decision === 'deny' ? 'denied' : 'ok';
  return html`<tr data-t="${s.t}" data-ms="${s.ms}" class="${outcome}">
<td>${i + 1}</td>
<td class="time">+${(s.t / 1000).toFixed(3)} s</td>
<td><pre class="sql">${s.sql}</pre>${s.params?.length ? html`<span class="params">params: ${s.params.map((p) => (p === null ? 'NULL' : p)).join(', ')}</span>` : ''}</td>
<td>${s.decision ?? ''}${s.rule ? html` <span class="rule">${s.rule}</span>` : ''}</td>
<td class="rows">${s.rows ?? (s.tag && !s.error ? s.tag : '')}</td>
<td class="sqlstate">${s.error ? html`<span title="${s.error.message}">${s.error.code}</span> ${s.error.message}` : ''}</td>
<td>${s.ms.toFixed(1)} ms</td>
</tr>`;
}
