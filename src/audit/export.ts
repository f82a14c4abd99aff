// The export's lines, for a SIEM and for `agentdb audit verify --file`. JSONL is the canonical form: each event
// exactly as stored (canonical JSON with prevHash and hash), and each checkpoint as
// {"type":"audit.checkpoint","checkpoint":{...},"publicKey":PEM}. OCSF wraps the same objects, untouched, in
// `unmapped.agentdb` of an OCSF 1.1 API Activity record (class 6003), so both forms verify the same way.
import type { Checkpoint } from './checkpoint.js';
import type { AuditEvent } from './event.js';
import type { ExportItem } from './audit-log.js';

export const EXPORT_FORMATS = ['jsonl', 'ocsf'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];
export const CHECKPOINT_LINE_TYPE = 'audit.checkpoint';

export interface CheckpointLine {
  type: typeof CHECKPOINT_LINE_TYPE;
  checkpoint: Checkpoint;
  /** SPKI PEM of the signing key; verify pins it with --public-key, or trusts it and prints its fingerprint */
  publicKey: string;
}

const OCSF_API_ACTIVITY = 6003;
const OCSF_CATEGORY_APPLICATION = 6;
// OCSF API Activity activity_id: 1 Create, 2 Read, 3 Update, 4 Delete, 99 Other.
const ACTIVITY_BY_KIND: Record<string, number> = { insert: 1, copy_from: 1, select: 2, copy_to: 2, update: 3, merge: 3, delete: 4, truncate: 4 };
// The event code's last letter (codes.ts): I information, W refused or denied, E error.
const SEVERITY_BY_LETTER: Record<string, number> = { I: 1, W: 3, E: 4 };

function ocsfOf(event: AuditEvent | undefined, original: unknown, time: string): Record<string, unknown> {
  const activity = (event?.statement?.kind && ACTIVITY_BY_KIND[event.statement.kind.toLowerCase()]) || 99;
  const letter = event?.code.at(-1) ?? 'I';
  return {
    class_uid: OCSF_API_ACTIVITY,
    category_uid: OCSF_CATEGORY_APPLICATION,
    activity_id: activity,
    type_uid: OCSF_API_ACTIVITY * 100 + activity,
    time: Date.parse(time),
    severity_id: SEVERITY_BY_LETTER[letter] ?? 1,
    status_id: letter === 'I' ? 1 : 2,
    ...(event?.message ? { message: event.message } : {}),
    metadata: {
      version: '1.1.0',
      product: { name: 'agentdb', vendor_name: 'agentdb' },
      log_name: 'agentdb-audit',
      ...(event ? { uid: event.id, ...(event.sid ? { correlation_uid: event.sid } : {}) } : {}),
    },
    api: { operation: event?.type ?? CHECKPOINT_LINE_TYPE, ...(event?.statement ? { request: { data: { sql: event.statement.sql, decision: event.statement.decision } } } : {}) },
    ...(event?.identity ? { actor: { user: { name: event.identity.name, type: event.identity.kind, groups: event.identity.roles.map((name) => ({ name })) }, ...(event.sid ? { session: { uid: event.sid } } : {}) } } : {}),
    ...(event?.client ? { src_endpoint: { ip: event.client.addr } } : {}),
    ...(event?.db ? { dst_endpoint: { svc_name: event.db.service } } : {}),
    unmapped: { agentdb: original },
  };
}

/** One line (no newline) of the export in `format`. */
export function exportLine(item: ExportItem, format: ExportFormat, publicKeyPem: string): string {
  if (item.kind === 'event') {
    if (format === 'jsonl') return item.json;
    const event = JSON.parse(item.json) as AuditEvent;
    return JSON.stringify(ocsfOf(event, event, event.time));
  }
  const line: CheckpointLine = { type: CHECKPOINT_LINE_TYPE, checkpoint: item.checkpoint, publicKey: publicKeyPem };
  return JSON.stringify(format === 'jsonl' ? line : ocsfOf(undefined, line, item.checkpoint.time));
}
