// A session recording: a header, the statements in order, and an end marker. Stored as store
// RecordingRecords of kind 'start' | 'statements' (one per flush) | 'end' (see writer.ts).

export interface RecordingHeader {
  sid: string;
  identity: { name: string; kind: string; roles: string[] };
  task: { id: string; reason: string; requester: string };
  db: { service: string; name: string; user: string };
  client: { addr: string; app?: string };
  /** ISO 8601 UTC */
  startedAt: string;
}

export interface RecordedStatement {
  /** ms since the session started */
  t: number;
  sql: string;
  params?: (string | null)[];
  columns?: readonly string[];
  rows?: number;
  /** command tag, e.g. 'SELECT 48' */
  tag?: string;
  error?: { code: string; message: string };
  ms: number;
  /** the policy decision: 'allow' | 'deny' | 'review' */
  decision?: string;
  /** the policy rule that decided, shown for a denied statement */
  rule?: string;
}

export interface RecordingEnd {
  /** ISO 8601 UTC */
  endedAt: string;
  reason?: string;
}

export interface SessionRecording {
  header: RecordingHeader;
  statements: RecordedStatement[];
  /** absent while the session is open (or if it ended without closing its recording) */
  end?: RecordingEnd;
}

/** `statements` (an array of statements, one record per flush) is what the writer makes; `statement` (one) is read from older recordings. */
export const RECORD_KIND = { start: 'start', statement: 'statement', statements: 'statements', end: 'end' } as const;
