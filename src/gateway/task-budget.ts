// A task's data budget: rows and bytes returned to the client, shared by every session of the task on this
// gateway. Once spent, it stays spent: the rest of the task's sessions are refused further statements.
export class TaskBudget {
  rows = 0;
  bytes = 0;
  spent = false;

  constructor(
    readonly maxRows: number | undefined,
    readonly maxBytes: number | undefined,
  ) {}

  /** Counts one row of `bytes`; false when it does not fit (and the budget is then spent). */
  take(bytes: number): boolean {
    if (this.spent) return false;
    if ((this.maxRows !== undefined && this.rows + 1 > this.maxRows) || (this.maxBytes !== undefined && this.bytes + bytes > this.maxBytes)) {
      this.spent = true;
      return false;
    }
    this.rows++;
    this.bytes += bytes;
    return true;
  }

  describe(): string {
    const parts: string[] = [];
    if (this.maxRows !== undefined) parts.push(`${this.rows} of ${this.maxRows} rows`);
    if (this.maxBytes !== undefined) parts.push(`${this.bytes} of ${this.maxBytes} bytes`);
    return parts.join(', ');
  }
}

/** Budgets by task id, kept while the task has sessions here (and a while after, so reconnecting does not reset it). */
export class TaskBudgets {
  private readonly byTask = new Map<string, { budget: TaskBudget; expiresAt: number }>();

  for(taskId: string, limits: { rows?: number; bytes?: number }, until: Date): TaskBudget | undefined {
    if (limits.rows === undefined && limits.bytes === undefined) return undefined;
    this.sweep();
    let e = this.byTask.get(taskId);
    if (!e) {
      e = { budget: new TaskBudget(limits.rows, limits.bytes), expiresAt: until.getTime() };
      this.byTask.set(taskId, e);
    }
    return e.budget;
  }

  /** A task ends when its certificate does; its budget goes with it. */
  private sweep(): void {
    const now = Date.now();
    for (const [k, v] of this.byTask) if (v.expiresAt < now) this.byTask.delete(k);
  }
}
