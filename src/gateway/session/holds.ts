// Holds and reviews: a chunk with a statement held for review waits in the out queue (forward.ts) while a person
// decides (the gateway's review: effect probe first, then access requests). The client gets a NOTICE with the
// request id at once; an approved statement is forwarded as it was, a refused one is replaced by the poison
// text and answered 42501. Each outcome is audited before the chunk leaves.
import type { AuditEventInput } from '../../audit/index.js';
import { SqlState, noticeResponse } from '../../pgwire/index.js';
import { auditUnavailable } from '../error-response.js';
import { applyEdits, type Edit } from './edits.js';
import type { Hold, SessionState } from './state.js';
import { statementFields } from './track.js';
import type { HeldStatement, ReviewOutcome } from './types.js';

/**
 * Audits the chunk's events, asks for each hold's review, and audits each outcome: the chunk as it may leave
 * (refused statements replaced), or undefined when the audit log failed (the session has ended).
 */
export async function awaitReviews(st: SessionState, out: Buffer, edits: Edit[], events: AuditEventInput[], holds: Hold[]): Promise<Buffer | undefined> {
  try {
    await st.deps.audit.write(events);
    for (const h of holds) {
      const outcome = await review(st, { ...h.held, shown: shownOf(h) });
      const audit: AuditEventInput = {
        ...st.stamp,
        type: outcome.approved ? 'db.session.query' : 'db.session.denied',
        statement: {
          ...statementFields(h.entry.rec.sql, h.analysis, h.entry.rec.params),
          decision: outcome.approved ? 'allow' : 'deny',
          rule: h.held.rule,
        },
        message: outcome.approved ? `approved by ${outcome.by}` : outcome.reason,
      };
      if (outcome.approved) {
        h.entry.rec.decision = 'allow';
      } else {
        edits.push(h.refuse);
        h.entry.denial = { rule: h.held.rule, message: outcome.reason, sqlState: SqlState.INSUFFICIENT_PRIVILEGE };
        h.entry.rec.decision = 'deny';
        h.entry.rec.rule = h.held.rule;
        st.totals.denied++;
      }
      await st.deps.audit.write([audit]);
    }
  } catch (err) {
    st.fail(auditUnavailable(err), 'audit-unavailable');
    return undefined;
  }
  edits.sort((a, b) => a.start - b.start);
  return edits.length > 0 ? applyEdits(out, edits) : out;
}

/** The held statement as its audit event has it (trackStatement redacted it in a masked session). */
function shownOf(h: Hold): HeldStatement['shown'] {
  return { sql: h.entry.rec.sql, ...(h.entry.rec.params?.length ? { params: h.entry.rec.params } : {}) };
}

function review(st: SessionState, held: HeldStatement): Promise<ReviewOutcome> {
  const aborted = new Promise<ReviewOutcome>((resolve) => {
    st.abortReview = (reason) => resolve({ approved: false, reason });
  });
  return Promise.race([st.deps.review(st.ctx, held, (id) => tellHeld(st, id)), aborted]).finally(() => {
    st.abortReview = undefined;
  });
}

/**
 * The client learns at once why nothing comes back (psql shows a NOTICE while it waits). Written between two
 * backend chunks, which end on whole messages; PostgreSQL may send a NoticeResponse at any time.
 */
function tellHeld(st: SessionState, requestId: string): void {
  if (st.ended) return;
  st.client.write(noticeResponse({
    severity: 'NOTICE',
    code: SqlState.WARNING,
    message: `agentdb: held for review: request ${requestId}`,
    hint: `A reviewer approves it with \`agentdb request approve ${requestId}\` (or denies it with \`agentdb request deny ${requestId}\`); the statement runs once approved.`,
  }));
}
