// How one access request looks in the console: a held statement with who, which task, which database, the statement
// as the audit log stores it and the rule that held it; or a role request. With Approve / Deny for those who may.
import type { Identity } from '../../identity/index.js';
import type { AccessRequestRecord } from '../../store/index.js';
import type { AccessRequests, HeldStatement } from '../access-requests.js';
import { html, uiHref, type Html } from './html.js';
import { csrfInput, when } from './layout.js';
import type { Viewer } from './security.js';

interface RoleRequestData {
  role: string;
  reason: string;
  identity?: { name: string; kind: string; roles: string[] };
}

export function requestItem(rec: AccessRequestRecord, viewer: Viewer, requests: AccessRequests): Html {
  const body = rec.kind === 'statement' ? statementDetails(rec.data as HeldStatement) : roleDetails(rec.data as RoleRequestData);
  return html`<article class="request ${rec.state}" data-request-id="${rec.id}">
<header><a href="${uiHref(['requests', rec.id])}">${rec.kind === 'statement' ? 'Held statement' : 'Role request'} ${rec.id}</a>
<span class="state">${rec.state}</span></header>
${body}
<p class="meta">asked ${when(rec.createdAt)}${rec.state === 'pending' ? html` · expires ${when(rec.expiresAt)}` : ''}${rec.decidedBy ? html` · ${rec.state} by ${rec.decidedBy} ${when(rec.decidedAt)}` : ''}${rec.reason ? html` · “${rec.reason}”` : ''}</p>
${rec.state === 'pending' ? decision(rec, viewer, requests.mayDecide(viewer.session.identity, rec)) : ''}
</article>`;
}

function statementDetails(held: HeldStatement): Html {
  const s = held.statement;
  return html`<dl>
<dt>Identity</dt><dd><a href="${uiHref(['identities', held.identity.name])}">${held.identity.name}</a> <span class="muted">${held.identity.kind} · ${held.identity.roles.join(', ')}</span></dd>
<dt>Task</dt><dd><a href="${uiHref(['tasks', held.task.id])}">${held.task.reason || held.task.id}</a> <span class="muted">${held.task.id}</span></dd>
<dt>Database</dt><dd>${held.db.service} <span class="muted">database ${held.db.name} as ${held.db.user}</span></dd>
<dt>Session</dt><dd><a href="${uiHref(['sessions', held.sid])}">${held.sid}</a></dd>
<dt>Rule</dt><dd><span class="rule">${s.rule}</span>${s.message ? html` <span class="muted">${s.message}</span>` : ''}</dd>
</dl>
<pre class="sql">${s.sql}</pre>
${s.params?.length ? html`<p class="params">params: ${s.params.map((p, i) => html`<code>$${i + 1} = ${p === null ? 'NULL' : p}</code> `)}</p>` : ''}`;
}

function roleDetails(data: RoleRequestData): Html {
  return html`<dl>
<dt>Identity</dt><dd>${data.identity ? html`<a href="${uiHref(['identities', data.identity.name])}">${data.identity.name}</a> <span class="muted">${data.identity.kind} · ${data.identity.roles.join(', ')}</span>` : ''}</dd>
<dt>Role</dt><dd>${data.role}</dd>
<dt>Why</dt><dd>${data.reason}</dd>
</dl>`;
}

function decision(rec: AccessRequestRecord, viewer: Viewer, mayDecide: boolean): Html {
  if (!mayDecide) {
    const why = rec.requester === viewer.session.identity.name ? 'This is your own request: someone else decides it.' : 'You hold no role that may review this request.';
    return html`<p class="muted">${why}</p>`;
  }
  return html`<div class="decide">
<form method="post" action="${uiHref(['requests', rec.id, 'approve'])}">${csrfInput(viewer)}<button type="submit" class="approve">Approve</button></form>
<form method="post" action="${uiHref(['requests', rec.id, 'deny'])}">${csrfInput(viewer)}<input type="text" name="reason" maxlength="2000" placeholder="reason (sent to the client)" aria-label="reason for denying"><button type="submit" class="deny">Deny</button></form>
</div>`;
}

/** The pending list; the SSE feed sends the same fragment, so the page reads the same with or without script. */
export function pendingList(recs: AccessRequestRecord[], viewer: Viewer, requests: AccessRequests): Html {
  if (recs.length === 0) return html`<p class="empty" data-empty>Nothing is waiting for a decision.</p>`;
  return html`${recs.map((r) => requestItem(r, viewer, requests))}`;
}

/** Who sees what: the identity's own requests and those it may decide (as `agentdb request ls`). */
export function visible(recs: AccessRequestRecord[], identity: Identity, requests: AccessRequests): AccessRequestRecord[] {
  return recs.filter((r) => requests.isVisibleTo(identity, r));
}
