// How much data a task may take out of the database: rows and bytes returned, counted by the gateway.
import { z } from 'zod';
import type { Role } from './roles.js';

export const budgetSchema = z
  .object({
    rows: z.number().int().positive().optional(),
    bytes: z.number().int().positive().optional(),
  })
  .strict();

export type Budget = z.infer<typeof budgetSchema>;

/** The smallest limit of each kind among the identity's roles wins; a role without one does not lift it. */
export function budgetFor(roles: Readonly<Record<string, Role>>, roleNames: readonly string[]): Budget {
  const out: Budget = {};
  for (const r of roleNames) {
    const b = roles[r]?.budget;
    if (b?.rows !== undefined) out.rows = Math.min(out.rows ?? Infinity, b.rows);
    if (b?.bytes !== undefined) out.bytes = Math.min(out.bytes ?? Infinity, b.bytes);
  }
  return out;
}
