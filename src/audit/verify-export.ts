// `agentdb audit verify --file`: an export checked offline. Its events must chain, every checkpoint in it must be
// signed by one key (pinned with --public-key, or the key it embeds), each log checkpoint's head must be among
// the events before it, and the last line must be the export's own checkpoint over exactly these events: a file
// whose tail was cut lacks it, or it no longer matches.
import { createPublicKey } from 'node:crypto';
import { eventHash } from './chain.js';
import { checkpointFault, checkpointKeyId, type Checkpoint } from './checkpoint.js';
import type { AuditEvent } from './event.js';
import { CHECKPOINT_LINE_TYPE, type CheckpointLine } from './export.js';

export interface ExportVerifyResult {
  ok: boolean;
  events: number;
  /** the key the checkpoints were checked with, and whether the caller pinned it */
  keyId?: string;
  pinned: boolean;
  /** the newest log checkpoint found in the export */
  lastCheckpoint?: Checkpoint;
  /** what is wrong, naming the line (1-based) */
  fault?: string;
}

function unwrap(parsed: unknown): unknown {
  // An OCSF line carries the canonical object untouched in unmapped.agentdb.
  const o = parsed as { class_uid?: unknown; unmapped?: { agentdb?: unknown } };
  return typeof o === 'object' && o !== null && o.class_uid !== undefined ? o.unmapped?.agentdb : parsed;
}

function describe(c: Checkpoint): string {
  return `the ${c.kind} checkpoint signed at ${c.time} (head ${String(c.headHash).slice(0, 16)}…)`;
}

export async function verifyExport(lines: AsyncIterable<string>, pinnedPem?: string): Promise<ExportVerifyResult> {
  let keyPem = pinnedPem;
  const pinnedId = pinnedPem === undefined ? undefined : checkpointKeyId(createPublicKey(pinnedPem));
  let events = 0;
  let prev: string | undefined;
  let first: string | undefined;
  let lastCheckpoint: Checkpoint | undefined;
  let closing: Checkpoint | undefined;
  let n = 0;
  const result = (fault?: string): ExportVerifyResult => ({
    ok: fault === undefined,
    events,
    pinned: pinnedPem !== undefined,
    ...(keyPem !== undefined ? { keyId: pinnedId ?? checkpointKeyId(createPublicKey(keyPem)) } : {}),
    ...(lastCheckpoint ? { lastCheckpoint } : {}),
    ...(fault !== undefined ? { fault } : {}),
  });
  for await (const text of lines) {
    n++;
    if (text.trim() === '') continue;
    if (closing) return result(`line ${n} follows the export's closing checkpoint: lines were appended`);
    let item: unknown;
    try {
      item = unwrap(JSON.parse(text));
    } catch {
      return result(`line ${n} is not JSON: the file was edited or torn`);
    }
    if (typeof item !== 'object' || item === null) return result(`line ${n} holds no audit event or checkpoint`);
    if ((item as { type?: unknown }).type === CHECKPOINT_LINE_TYPE) {
      const line = item as CheckpointLine;
      if (typeof line.publicKey !== 'string') return result(`line ${n}: the checkpoint carries no public key`);
      keyPem ??= line.publicKey;
      const bad = checkpointFault(line.checkpoint, keyPem);
      if (bad !== undefined) return result(`line ${n}: checkpoint${line.checkpoint?.time ? ` signed at ${line.checkpoint.time}` : ''} is not valid: ${bad}`);
      const c = line.checkpoint;
      if (c.kind === 'export') {
        closing = c;
        const start = first ?? c.headHash;
        if (c.fromHash !== start || c.headHash !== (prev ?? start) || c.count !== events) {
          return result(`line ${n}: ${describe(c)} covers ${String(c.count)} events, not the ${events} before it: events were cut or added`);
        }
      } else {
        lastCheckpoint = c;
        // The export puts a log checkpoint right after its head event.
        if (c.headHash !== prev) return result(`line ${n}: events covered by ${describe(c)} are missing from the export: the log's tail was cut before it was exported`);
      }
      continue;
    }
    const event = item as AuditEvent;
    if (typeof event.prevHash !== 'string' || typeof event.hash !== 'string') return result(`line ${n} is not an audit event`);
    if (prev !== undefined && event.prevHash !== prev) return result(`line ${n} (event ${event.id}): its prevHash is not the hash of the event before it: events were deleted, inserted or reordered`);
    let hash: string;
    try {
      hash = eventHash(event.prevHash, event);
    } catch {
      return result(`line ${n} (event ${event.id}) cannot be hashed: it was edited`);
    }
    if (hash !== event.hash) return result(`line ${n} (event ${event.id}): its content does not match its hash: it was edited`);
    first ??= event.prevHash;
    prev = event.hash;
    events++;
  }
  if (!closing) {
    const after = lastCheckpoint ? `; the last checkpoint in it is ${describe(lastCheckpoint)}` : '';
    return result(`the export ends without its closing checkpoint: its tail was cut after ${events} events${after}`);
  }
  return result();
}
