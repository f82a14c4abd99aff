// What the soak's sessions did, counted by the driver: statements per kind (each answered by the gateway:
// a result, or an expected refusal), sessions opened, and every unexpected failure with what it was.
export type StatementKind = 'read' | 'write' | 'prepared' | 'masked' | 'held-approved' | 'held-denied' | 'canceled';

export interface SoakError {
  /** seconds since the soak started */
  t: number;
  what: string;
  message: string;
  code?: string;
}

export class Tally {
  readonly statements: Record<StatementKind, number> = { read: 0, write: 0, prepared: 0, masked: 0, 'held-approved': 0, 'held-denied': 0, canceled: 0 };
  /** per task reason: statements answered, to compare with the audit events of that task */
  readonly byReason = new Map<string, number>();
  sessionsOpened = 0;
  idlePeriods = 0;
  /** CancelRequests sent, and the longest a pg_sleep took to be canceled (ms) */
  cancels = { sent: 0, slowestMs: 0 };
  readonly errors: SoakError[] = [];
  private readonly t0 = Date.now();

  statement(kind: StatementKind, reason: string): void {
    this.statements[kind]++;
    this.byReason.set(reason, (this.byReason.get(reason) ?? 0) + 1);
  }

  error(what: string, err: unknown): void {
    const e = err as { message?: string; code?: string };
    this.errors.push({ t: this.elapsed(), what, message: e?.message ?? String(err), ...(e?.code ? { code: e.code } : {}) });
  }

  elapsed(): number {
    return Math.round((Date.now() - this.t0) / 100) / 10;
  }

  get total(): number {
    return Object.values(this.statements).reduce((a, b) => a + b, 0);
  }
}
