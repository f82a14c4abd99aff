// Live pending requests for open console pages, as server-sent events. One poll of the store a second serves every
// open page: the store is the record, so requests held by another control plane sharing it show up as well.
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { AccessRequestRecord } from '../../store/index.js';
import type { UiContext } from './context.js';
import { pendingList, visible } from './request-view.js';
import type { Viewer } from './security.js';

const POLL_MS = 1000;
/** A comment line now and then keeps proxies and the socket's idle timeout from closing a quiet stream. */
const HEARTBEAT_MS = 15_000;
/** How often an open stream re-checks that its session was not ended (sign-out elsewhere, revocation). */
const RECHECK_MS = 30_000;
// Live streams per console session and in all: each holds a socket and a timer until its client leaves.
const MAX_STREAMS_PER_SESSION = 4;
const MAX_STREAMS = 500;

type Listener = (pending: AccessRequestRecord[]) => void;

export class PendingFeed {
  private readonly listeners = new Set<Listener>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly load: () => Promise<AccessRequestRecord[]>) {}

  subscribe(fn: Listener): () => void {
    this.listeners.add(fn);
    this.timer ??= setInterval(() => void this.tick(), POLL_MS);
    return () => {
      this.listeners.delete(fn);
      if (this.listeners.size === 0) this.stop();
    };
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async tick(): Promise<void> {
    let pending: AccessRequestRecord[];
    try {
      pending = await this.load();
    } catch {
      return; // the next tick tries again; a page keeps what it shows meanwhile
    }
    for (const fn of this.listeners) fn(pending);
  }
}

/** One SSE message; every line of the data gets its own `data:` field, as the format requires. */
export function sseMessage(event: string, data: string): string {
  return `event: ${event}\n${data.split(/\r\n|\r|\n/).map((l) => `data: ${l}`).join('\n')}\n\n`;
}

export function registerFeed(ui: FastifyInstance, ctx: UiContext): void {
  const { requests, sessions } = ctx.deps;
  const feed = new PendingFeed(() => requests.list('pending'));
  const open = new Set<FastifyReply>();
  const streamsOf = new Map<string, number>();
  // Open streams would hold the server's close() until their clients leave.
  ui.addHook('preClose', async () => {
    feed.stop();
    for (const reply of open) reply.raw.end();
  });

  ui.get('/events', async (req, reply) => {
    const viewer: Viewer = await ctx.viewer(req);
    const identity = viewer.session.identity;
    const sessionId = viewer.session.id;
    const mineOpen = streamsOf.get(sessionId) ?? 0;
    if (mineOpen >= MAX_STREAMS_PER_SESSION || open.size >= MAX_STREAMS) {
      return reply.code(429).header('retry-after', '30').type('text/plain; charset=utf-8').send('too many live streams open: close a console tab');
    }
    streamsOf.set(sessionId, mineOpen + 1);
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      ...(reply.getHeaders() as Record<string, string>),
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
    });
    res.write('retry: 2000\n\n');
    open.add(reply);
    let shown = '';
    let lastCheck = Date.now();
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
    const unsubscribe = feed.subscribe((pending) => {
      void (async () => {
        if (Date.now() - lastCheck > RECHECK_MS || viewer.session.expiresAt <= new Date()) {
          lastCheck = Date.now();
          if (!(await sessions.isActive(viewer.session.id))) return void res.end(sseMessage('signed-out', '/ui/login'));
        }
        const mine = visible(pending, identity, requests);
        const key = mine.map((r) => r.id).join(',');
        if (key === shown) return;
        shown = key;
        res.write(sseMessage('pending', pendingList(mine, viewer, requests).value));
      })().catch(() => {
        // The store failed (a database restart): this stream ends; the browser's EventSource reconnects.
        res.end();
      });
    });
    res.on('close', () => {
      clearInterval(heartbeat);
      unsubscribe();
      open.delete(reply);
      const left = (streamsOf.get(sessionId) ?? 1) - 1;
      if (left > 0) streamsOf.set(sessionId, left);
      else streamsOf.delete(sessionId);
    });
  });
}
