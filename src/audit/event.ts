// The audit event, shaped as DESIGN.md fixes it: the same JSON in the store, the JSONL sink and
// `--format json`. Field names are a contract; do not rename them.

export const AUDIT_EVENT_TYPES = [
  'login',
  'cert.issued',
  'request.created',
  'request.approved',
  'request.denied',
  'request.expired',
  'db.session.start',
  'db.session.query',
  'db.session.denied',
  'db.session.review',
  'db.session.end',
  'lock.created',
  'lock.removed',
] as const;

export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];

export interface AuditEvent {
  /** UUIDv7: time-ordered (event-id.ts) */
  id: string;
  /** ISO 8601 with milliseconds, UTC */
  time: string;
  type: AuditEventType;
  /** stable per type and outcome; see codes.ts */
  code: string;
  sid?: string;
  identity?: { name: string; kind: 'human' | 'agent' | 'bot'; roles: string[] };
  task?: { id: string; reason: string; requester: string };
  db?: { service: string; name: string; user: string };
  client?: { addr: string; app?: string };
  statement?: {
    sql: string;
    params?: (string | null)[];
    kind?: string;
    tables?: string[];
    decision: 'allow' | 'deny' | 'review';
    rule?: string;
  };
  result?: { rows?: number; bytes?: number; error?: { code: string; message: string }; ms?: number };
  /** human-readable detail, e.g. why a session was denied */
  message?: string;
  /**
   * type-specific extras (cert serial and expiry for cert.issued; for a statement refused because its text is
   * not UTF-8, `sqlEncoding: 'invalid-utf8'` and `sqlBase64`, the bytes sent; etc.)
   */
  details?: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

/** What a caller submits: the log assigns id, time (unless given), code (unless given) and the chain. */
export type AuditEventInput = Omit<AuditEvent, 'id' | 'time' | 'code' | 'prevHash' | 'hash'> & { time?: string; code?: string };
