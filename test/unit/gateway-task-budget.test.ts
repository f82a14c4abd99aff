// Data budgets as the gateway keeps them: per task, and per identity over a rolling window that a new task id
// does not reset. The clock is the test's, so the window's roll is exact.
import { describe, expect, test } from 'vitest';
import { z } from 'zod';
import { RollingWindow, TaskBudgets } from '../../src/gateway/task-budget.js';
import { budgetFor, roleSchema, type BudgetLimits, type RoleInput } from '../../src/policy/index.js';
import { parseDuration } from '../../src/server/duration.js';
import { demoRoles } from '../../src/server/dev/demo-roles.js';

const HOUR = 3_600_000;
const MINUTE = 60_000;

function clock(start = 1_000_000) {
  const c = { t: start, now: () => c.t };
  return c;
}

const later = (ms = HOUR) => new Date(Date.now() + ms);

describe('TaskBudget per task', () => {
  test('rows and bytes are both limits; a row that does not fit spends the budget for good', () => {
    const budgets = new TaskBudgets();
    const b = budgets.for('t1', 'agent-a', { rows: 3, bytes: 100 }, later())!;
    expect(b.take(40)).toBe(true);
    expect(b.take(40)).toBe(true);
    expect(b.spent).toBe(false);
    // 80 + 30 > 100: bytes, not rows, refuse the third row.
    expect(b.take(30)).toBe(false);
    expect(b.spent).toBe(true);
    expect(b.take(1)).toBe(false);
    expect(b.describe()).toBe('task: 2 of 3 rows, 80 of 100 bytes');
  });

  test('error, notice and COPY bytes (rows = 0) count against the bytes but not the rows', () => {
    const b = new TaskBudgets().for('t1', 'agent-a', { rows: 1, bytes: 100 }, later())!;
    expect(b.take(60, 0)).toBe(true);
    expect(b.take(30)).toBe(true);
    expect(b.rows).toBe(1);
    expect(b.bytes).toBe(90);
    // An error message of 20 bytes is past the 100 bytes: it is not delivered.
    expect(b.take(20, 0)).toBe(false);
    expect(b.spent).toBe(true);
  });

  test('sessions of one task share the budget; no limit at all means no budget object', () => {
    const budgets = new TaskBudgets();
    const a = budgets.for('t1', 'agent-a', { rows: 2 }, later())!;
    expect(budgets.for('t1', 'agent-a', { rows: 2 }, later())).toBe(a);
    expect(budgets.for('t2', 'agent-a', {}, later())).toBeUndefined();
    expect(budgets.for('t3', 'agent-a', { perIdentity: { windowMs: HOUR, window: '1h' } }, later())).toBeUndefined();
  });
});

describe('per identity over a rolling window', () => {
  const limits: BudgetLimits = { rows: 1000, bytes: 1_000_000, perIdentity: { rows: 5, bytes: 500, windowMs: HOUR, window: '1h' } };

  test('a new task id of the same identity draws on the same window; another identity does not', () => {
    const c = clock();
    const budgets = new TaskBudgets(c.now);
    const first = budgets.for('task-1', 'agent-a', limits, later())!;
    for (let i = 0; i < 4; i++) expect(first.take(100)).toBe(true);
    const second = budgets.for('task-2', 'agent-a', limits, later())!;
    expect(second).not.toBe(first);
    expect(second.spent).toBe(false);
    expect(second.take(100)).toBe(true);
    // 5 rows and 500 bytes in the window: the identity's part is full, for both tasks and any next one.
    expect(second.spent).toBe(true);
    expect(first.spent).toBe(true);
    expect(budgets.for('task-3', 'agent-a', limits, later())!.take(1)).toBe(false);
    expect(second.describe()).toBe('task: 1 of 1000 rows, 100 of 1000000 bytes; agent-a in the last 1h: 5 of 5 rows, 500 of 500 bytes');
    const other = budgets.for('task-4', 'agent-b', limits, later())!;
    expect(other.take(100)).toBe(true);
  });

  test('a refusal by the identity part is not counted, and the window frees up as it rolls', () => {
    const c = clock();
    const budgets = new TaskBudgets(c.now);
    const b = budgets.for('task-1', 'agent-a', limits, later())!;
    expect(b.take(300, 0)).toBe(true);
    c.t += 30 * MINUTE;
    expect(b.take(150)).toBe(true);
    // 450 + 100 > 500: refused, nothing added; the task's own part is not spent by it.
    expect(b.take(100)).toBe(false);
    expect(b.spent).toBe(true);
    expect(b.bytes).toBe(450);
    // The refusal holds for the identity, not just this task: a task started now is spent too.
    expect(budgets.for('task-2', 'agent-a', limits, later())!.spent).toBe(true);
    // Still inside the hour of the first 300 bytes (and the refusal holds until the next bucket).
    c.t += 29 * MINUTE;
    expect(b.take(100)).toBe(false);
    // An hour after the first 300 bytes they have left the window; the later 150 have not.
    c.t += 2 * MINUTE;
    expect(b.spent).toBe(false);
    expect(b.take(300)).toBe(true);
    expect(b.take(100)).toBe(false);
    // Long after everything: the window is empty again.
    c.t += 5 * HOUR;
    expect(b.take(500, 0)).toBe(true);
  });

  test('a task whose own budget is spent stays spent when the window rolls', () => {
    const c = clock();
    const b = new TaskBudgets(c.now).for('t', 'agent-a', { rows: 1, perIdentity: { rows: 100, windowMs: HOUR, window: '1h' } }, later())!;
    expect(b.take(10)).toBe(true);
    expect(b.take(10)).toBe(false);
    c.t += 2 * HOUR;
    expect(b.spent).toBe(true);
    expect(b.take(10)).toBe(false);
  });

  test('a window no task uses is forgotten only once it is empty, so ending tasks does not reset it', () => {
    const c = clock(Date.now());
    const budgets = new TaskBudgets(c.now);
    const short = new Date(c.t + MINUTE);
    expect(budgets.for('task-1', 'agent-a', limits, short)!.take(500, 0)).toBe(true);
    // task-1 has expired; its usage stays in agent-a's window.
    c.t += 2 * MINUTE;
    expect(budgets.for('task-2', 'agent-a', limits, new Date(c.t + HOUR))!.take(1)).toBe(false);
    c.t += HOUR + 2 * MINUTE;
    expect(budgets.for('task-3', 'agent-a', limits, new Date(c.t + HOUR))!.take(1)).toBe(true);
  });
});

describe('RollingWindow', () => {
  test('sums stay exact across many small additions and buckets', () => {
    const c = clock();
    const w = new RollingWindow(HOUR, c.now);
    for (let i = 0; i < 120; i++) {
      w.advance();
      w.add(1, 10);
      c.t += MINUTE;
    }
    w.advance();
    // A 1h window of 60 one-minute buckets holds the last 59 to 60 minutes.
    expect(w.rows).toBeGreaterThanOrEqual(59);
    expect(w.rows).toBeLessThanOrEqual(60);
    expect(w.bytes).toBe(w.rows * 10);
  });
});

describe('budgetFor', () => {
  const rolesOf = (input: Record<string, RoleInput>) => z.record(z.string(), roleSchema).parse(input);

  test('the smallest limit of each kind wins, per task and per identity; the longest window is kept', () => {
    const roles = rolesOf({
      a: { budget: { rows: 100, bytes: 5000, perIdentity: { rows: 1000, window: '30m' } } },
      b: { budget: { rows: 10, perIdentity: { rows: 2000, bytes: 9000, window: '2h' } } },
      c: {},
    });
    expect(budgetFor(roles, ['a', 'b', 'c'], parseDuration)).toEqual({
      rows: 10,
      bytes: 5000,
      perIdentity: { rows: 1000, bytes: 9000, windowMs: 2 * HOUR, window: '2h' },
    });
    expect(budgetFor(roles, ['c'], parseDuration)).toEqual({});
  });

  test('the window defaults to one hour; the demo agent has a task and an hourly identity budget', () => {
    const roles = rolesOf({ a: { budget: { perIdentity: { bytes: 10 } } } });
    expect(budgetFor(roles, ['a'], parseDuration)).toEqual({ perIdentity: { bytes: 10, windowMs: HOUR, window: '1h' } });
    const demo = rolesOf(demoRoles('customers'));
    expect(budgetFor(demo, ['demo-agent'], parseDuration)).toEqual({
      rows: 10_000,
      bytes: 4_000_000,
      perIdentity: { rows: 50_000, bytes: 20_000_000, windowMs: HOUR, window: '1h' },
    });
  });

  test('the schema refuses a bad window and unknown keys', () => {
    expect(() => rolesOf({ a: { budget: { perIdentity: { rows: 1, window: 'soon' } } } })).toThrow();
    expect(() => rolesOf({ a: { budget: { perIdentity: { rows: 1, windows: '1h' } } as never } })).toThrow();
  });
});
