// How much data may leave the database: rows and bytes sent to the client (result rows, COPY data, errors and
// notices), counted by the gateway per task and, over a rolling window, per identity across all its tasks.
import { z } from 'zod';
import { durationText } from './duration-text.js';
import type { Role } from './roles.js';

const limits = {
  rows: z.number().int().positive().optional(),
  bytes: z.number().int().positive().optional(),
};

export const budgetSchema = z
  .object({
    ...limits,
    /** per identity, whatever the task: a new task does not start a new budget */
    perIdentity: z
      .object({ ...limits, window: durationText.default('1h') })
      .strict()
      .optional(),
  })
  .strict();

export type Budget = z.infer<typeof budgetSchema>;

/** What the gateway enforces, with the window in ms (see gateway's BudgetLimits). */
export interface BudgetLimits {
  rows?: number;
  bytes?: number;
  perIdentity?: { rows?: number; bytes?: number; windowMs: number; window: string };
}

/**
 * The smallest limit of each kind among the identity's roles wins; a role without one does not lift it. Of the
 * per-identity windows the longest is kept (a smaller limit over a longer window is the stricter pair).
 * `parse` is the server's duration parser (the grammar durationText checks).
 */
export function budgetFor(roles: Readonly<Record<string, Role>>, roleNames: readonly string[], parse: (d: string) => number): BudgetLimits {
  const out: BudgetLimits = {};
  for (const r of roleNames) {
    const b = roles[r]?.budget;
    if (!b) continue;
    if (b.rows !== undefined) out.rows = Math.min(out.rows ?? Infinity, b.rows);
    if (b.bytes !== undefined) out.bytes = Math.min(out.bytes ?? Infinity, b.bytes);
    const p = b.perIdentity;
    if (!p || (p.rows === undefined && p.bytes === undefined)) continue;
    const windowMs = parse(p.window);
    const o = (out.perIdentity ??= { windowMs, window: p.window });
    if (windowMs > o.windowMs) Object.assign(o, { windowMs, window: p.window });
    if (p.rows !== undefined) o.rows = Math.min(o.rows ?? Infinity, p.rows);
    if (p.bytes !== undefined) o.bytes = Math.min(o.bytes ?? Infinity, p.bytes);
  }
  return out;
}
