// Audit, then forward: a chunk of whole client messages whose handlers have run leaves for PostgreSQL only once
// its audit events are stored (audit/group-commit.ts makes them durable in the journal, many sessions' events
// in one write), and chunks leave in the order they came (the out queue). A chunk with a held statement waits
// for its reviews (holds.ts). The common case — allowed messages, no edits — is forwarded as the very Buffer
// that arrived.
import { auditUnavailable } from '../error-response.js';
import { applyEdits } from './edits.js';
import { awaitReviews } from './holds.js';
import type { SessionState } from './state.js';

export interface OutChunk {
  buf: Buffer;
  ready: boolean;
}

/** Forwards one processed chunk: edits applied, audit written first, holds honoured. */
export function processChunk(st: SessionState, out: Buffer): void {
  const edits = st.clientEdits;
  const events = st.events;
  if (st.holds.length > 0) {
    // Held: this chunk, and everything the client sends after it, waits for the reviewers. The chunk keeps
    // its own lists; the next chunk starts new ones.
    const holds = st.holds;
    st.holds = [];
    st.clientEdits = [];
    st.events = [];
    const chunkOut: OutChunk = { buf: out, ready: false };
    forward(st, chunkOut);
    void awaitReviews(st, out, edits, events, holds).then((buf) => {
      if (!buf) return;
      chunkOut.buf = buf;
      chunkOut.ready = true;
      flushOut(st);
    });
    return;
  }
  if (edits.length > 0) st.clientEdits = [];
  if (events.length > 0) st.events = [];
  const buf = edits.length > 0 ? applyEdits(out, edits) : out;
  if (events.length === 0) {
    forward(st, { buf, ready: true });
    return;
  }
  const chunkOut: OutChunk = { buf, ready: false };
  forward(st, chunkOut);
  // If the events cannot be stored, nothing is forwarded and the session ends (fail closed).
  st.deps.audit.submit(events, (err) => {
    if (err) return st.fail(auditUnavailable(err), 'audit-unavailable');
    chunkOut.ready = true;
    flushOut(st);
  });
}

function forward(st: SessionState, chunk: OutChunk): void {
  if (chunk.ready && st.outQueue.length === 0) {
    writeBackend(st, chunk.buf);
    return;
  }
  st.outQueue.push(chunk);
}

/** Writes every chunk at the head of the queue that is ready. */
function flushOut(st: SessionState): void {
  while (st.outQueue.length > 0 && st.outQueue[0]!.ready) writeBackend(st, st.outQueue.shift()!.buf);
}

function writeBackend(st: SessionState, buf: Buffer): void {
  if (st.ended) return;
  if (!st.backend.write(buf)) {
    st.client.pause();
    st.backend.once('drain', () => st.client.resume());
  }
}
