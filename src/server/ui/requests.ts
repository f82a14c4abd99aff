// The requests pages: what waits for a decision (live through feed.ts), one request on its own page (the webhook's
// link), and Approve / Deny, decided by the access-request service with the CLI's checks (review.databases, not one's
// own request, not while locked).
import type { FastifyInstance } from 'fastify';
import { sendPage, seeOther, type UiContext } from './context.js';
import { UI_ERRORS, UiError } from './errors.js';
import { html, uiHref } from './html.js';
import { page } from './layout.js';
import { pendingList, requestItem, visible } from './request-view.js';

const MAX_REASON = 2000;

export function registerRequests(ui: FastifyInstance, ctx: UiContext): void {
  const { requests, store } = ctx.deps;

  ui.get('/requests', async (req, reply) => {
    const viewer = await ctx.viewer(req);
    const pending = visible(await requests.list('pending'), viewer.session.identity, requests);
    return sendPage(
      reply,
      page(
        'Waiting for a decision',
        viewer,
        html`<p class="muted">Statements held at the gateway and role requests you may decide, and your own. New ones appear here as they come.</p>
<section id="pending" data-live="/ui/events">${pendingList(pending, viewer, requests)}</section>`,
      ),
    );
  });

  ui.get('/requests/:id', async (req, reply) => {
    const viewer = await ctx.viewer(req);
    const { id } = req.params as { id: string };
    const rec = await store.getRequest(id);
    // Someone who may not see a request learns nothing of it, not even that it exists.
    if (!rec || !requests.isVisibleTo(viewer.session.identity, rec)) throw new UiError(UI_ERRORS.NOT_FOUND, `no request ${id} that you may see`);
    return sendPage(reply, page(`Request ${rec.id}`, viewer, requestItem(rec, viewer, requests)));
  });

  ui.post('/requests/:id/approve', async (req, reply) => {
    const { viewer } = await ctx.changer(req);
    const { id } = req.params as { id: string };
    await requests.decide(viewer.session.identity, id, true);
    return seeOther(reply, uiHref(['requests', id]));
  });

  ui.post('/requests/:id/deny', async (req, reply) => {
    const { viewer, form } = await ctx.changer(req);
    const { id } = req.params as { id: string };
    const reason = (form['reason'] ?? '').trim();
    if (reason.length > MAX_REASON) throw new UiError(UI_ERRORS.BAD_REQUEST, `the reason is longer than ${MAX_REASON} characters`);
    await requests.decide(viewer.session.identity, id, false, reason || undefined);
    return seeOther(reply, uiHref(['requests', id]));
  });
}
