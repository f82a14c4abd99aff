// Data budgets: rows and bytes returned to the client. Two limits apply to a session at once: the task's, shared
// by every session of the task on this gateway, and the identity's over a rolling window, shared by all its
// tasks, so that starting a new task (`--task`) does not start a new budget. The session sees one TaskBudget
// that checks both; take() runs once per result message and only adds to counters.
import type { BudgetLimits } from '../policy/index.js';

type Clock = () => number;

// take() runs per row, and Date.now() would be most of its cost; the window needs the time to a second only.
let coarseNow = 0;
let ticking: NodeJS.Timeout | undefined;
function coarseClock(): number {
  if (!ticking) {
    coarseNow = Date.now();
    ticking = setInterval(() => (coarseNow = Date.now()), 1000);
    ticking.unref();
  }
  return coarseNow;
}

// The window is kept as this many buckets, each a slice of the window: usage leaves the sum between
// (BUCKETS-1)/BUCKETS and one whole window after it was taken (a 1h window: per-minute buckets).
const BUCKETS = 60;

/** An identity's rows and bytes over the last window, in a ring of buckets. */
export class RollingWindow {
  rows = 0;
  bytes = 0;
  /** counts the rotations: a refusal stays in force until usage has had a chance to leave the window */
  epoch = 0;
  /** the epoch at which a task of the identity was refused; -1: none was. Every task of the identity is then spent. */
  refusedAt = -1;
  private readonly bucketRows = new Float64Array(BUCKETS);
  private readonly bucketBytes = new Float64Array(BUCKETS);
  private readonly width: number;
  private head = 0;
  private headEnd: number;

  constructor(
    readonly windowMs: number,
    private readonly now: Clock = coarseClock,
  ) {
    this.width = Math.max(1, Math.ceil(windowMs / BUCKETS));
    this.headEnd = this.now() + this.width;
  }

  /** Moves the ring to the present: buckets older than the window are subtracted and reused. */
  advance(): void {
    const t = this.now();
    if (t < this.headEnd) return;
    const steps = Math.floor((t - this.headEnd) / this.width) + 1;
    for (let i = 0; i < Math.min(steps, BUCKETS); i++) {
      this.head = (this.head + 1) % BUCKETS;
      this.rows -= this.bucketRows[this.head]!;
      this.bytes -= this.bucketBytes[this.head]!;
      this.bucketRows[this.head] = 0;
      this.bucketBytes[this.head] = 0;
    }
    if (steps >= BUCKETS) this.rows = this.bytes = 0;
    this.headEnd += steps * this.width;
    this.epoch++;
  }

  /** Adds to the current bucket; call advance() first. */
  add(rows: number, bytes: number): void {
    this.rows += rows;
    this.bytes += bytes;
    this.bucketRows[this.head]! += rows;
    this.bucketBytes[this.head]! += bytes;
  }

  get empty(): boolean {
    return this.rows === 0 && this.bytes === 0;
  }
}

/**
 * A task's budget as a session uses it: the task's own counters and, when the roles set one, the identity's
 * rolling window. Once the task's part is spent it stays spent; the identity's part frees up as the window rolls.
 */
export class TaskBudget {
  rows = 0;
  bytes = 0;
  private taskSpent = false;

  constructor(
    readonly maxRows: number | undefined,
    readonly maxBytes: number | undefined,
    private readonly identity?: { name: string; rows?: number; bytes?: number; window: string; counts: RollingWindow },
  ) {}

  /**
   * Counts `bytes` sent to the client and `rows` (1 for a DataRow, 0 for an error, notice or COPY data);
   * false when it does not fit, and nothing is counted then.
   */
  take(bytes: number, rows = 1): boolean {
    if (this.taskSpent) return false;
    if ((this.maxRows !== undefined && this.rows + rows > this.maxRows) || (this.maxBytes !== undefined && this.bytes + bytes > this.maxBytes)) {
      this.taskSpent = true;
      return false;
    }
    const id = this.identity;
    if (id) {
      const w = id.counts;
      w.advance();
      if ((id.rows !== undefined && w.rows + rows > id.rows) || (id.bytes !== undefined && w.bytes + bytes > id.bytes)) {
        w.refusedAt = w.epoch;
        return false;
      }
      w.add(rows, bytes);
    }
    this.rows += rows;
    this.bytes += bytes;
    return true;
  }

  /** No further statement may start: the task's part is spent, or the identity's window is full. */
  get spent(): boolean {
    if (this.taskSpent) return true;
    const id = this.identity;
    if (!id) return false;
    const w = id.counts;
    w.advance();
    return w.refusedAt === w.epoch || (id.rows !== undefined && w.rows >= id.rows) || (id.bytes !== undefined && w.bytes >= id.bytes);
  }

  describe(): string {
    const parts = [`task: ${usage(this.rows, this.maxRows, this.bytes, this.maxBytes)}`];
    const id = this.identity;
    if (id) {
      id.counts.advance();
      parts.push(`${id.name} in the last ${id.window}: ${usage(id.counts.rows, id.rows, id.counts.bytes, id.bytes)}`);
    }
    return parts.join('; ');
  }
}

function usage(rows: number, maxRows: number | undefined, bytes: number, maxBytes: number | undefined): string {
  const parts: string[] = [];
  if (maxRows !== undefined) parts.push(`${rows} of ${maxRows} rows`);
  if (maxBytes !== undefined) parts.push(`${bytes} of ${maxBytes} bytes`);
  return parts.join(', ') || 'no limit';
}

/**
 * Budgets by task id, kept while the task has sessions here (and a while after, so reconnecting does not reset
 * it), and the identities' windows, kept while a task uses them or they still hold usage.
 */
export class TaskBudgets {
  private readonly byTask = new Map<string, { budget: TaskBudget; expiresAt: number; window?: string }>();
  private readonly windows = new Map<string, RollingWindow>();

  constructor(private readonly now: Clock = coarseClock) {}

  for(taskId: string, identity: string, limits: BudgetLimits, until: Date): TaskBudget | undefined {
    const per = limits.perIdentity;
    const perSet = per !== undefined && (per.rows !== undefined || per.bytes !== undefined);
    if (limits.rows === undefined && limits.bytes === undefined && !perSet) return undefined;
    this.sweep();
    let e = this.byTask.get(taskId);
    if (!e) {
      // One window per identity and window length: tasks whose roles give other limits over the same window
      // still count into the same sums.
      const key = perSet ? `${identity}\0${per.windowMs}` : undefined;
      let counts = key !== undefined ? this.windows.get(key) : undefined;
      if (key !== undefined && !counts) this.windows.set(key, (counts = new RollingWindow(per!.windowMs, this.now)));
      const id = counts ? { name: identity, rows: per!.rows, bytes: per!.bytes, window: per!.window, counts } : undefined;
      e = { budget: new TaskBudget(limits.rows, limits.bytes, id), expiresAt: until.getTime(), ...(key !== undefined ? { window: key } : {}) };
      this.byTask.set(taskId, e);
    }
    return e.budget;
  }

  /** A task ends when its certificate does; its budget goes with it. A window goes once no task uses it and it has emptied. */
  private sweep(): void {
    const now = this.now();
    const inUse = new Set<string>();
    for (const [k, v] of this.byTask) {
      if (v.expiresAt < now) this.byTask.delete(k);
      else if (v.window !== undefined) inUse.add(v.window);
    }
    for (const [k, w] of this.windows) {
      if (inUse.has(k)) continue;
      w.advance();
      if (w.empty) this.windows.delete(k);
    }
  }
}
