// Edits to a chunk of whole messages: a message replaced (a denied statement's poison text, a masked row),
// dropped (empty bytes) or inserted (start === end). The chunk is copied only when it has any.

export interface Edit {
  start: number;
  end: number;
  bytes: Buffer;
}

export const EMPTY = Buffer.alloc(0);

// A statement that is denied is replaced by text that fails in PostgreSQL's own parser, before anything runs.
// PostgreSQL then does exactly what it does on any error — aborts a transaction block, discards extended-
// protocol messages until Sync, answers ReadyForQuery with the right status — and the gateway only swaps the
// syntax error for its own 42501 denial. No state machine of PostgreSQL's has to be imitated.
export const POISON_SQL = 'AGENTDB DENIED';

/** The chunk with its edits applied; `edits` are in order and do not overlap. */
export function applyEdits(out: Buffer, edits: readonly Edit[]): Buffer {
  const parts: Buffer[] = [];
  let pos = 0;
  for (const e of edits) {
    parts.push(out.subarray(pos, e.start), e.bytes);
    pos = e.end;
  }
  parts.push(out.subarray(pos));
  return Buffer.concat(parts);
}
