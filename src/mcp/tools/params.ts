// The argument shapes the SQL tools share: bind parameters ($1, $2...) and a row cap.
import { z } from 'zod';

export const DEFAULT_MAX_ROWS = 100;
export const MAX_ROWS_LIMIT = 10_000;

export const sqlArg = z.string().max(100_000).describe('one SQL statement');
export const paramsArg = z
  .array(z.union([z.string(), z.number(), z.boolean(), z.null()]))
  .max(1000)
  .optional()
  .describe('values for $1, $2, ... in order');
export const maxRowsArg = z.number().int().min(1).max(MAX_ROWS_LIMIT).optional().describe(`at most this many rows come back (default ${DEFAULT_MAX_ROWS})`);

/** Parameters as PostgreSQL takes them over the wire: text, or NULL. */
export function textParams(params: readonly (string | number | boolean | null)[] | undefined): (string | null)[] {
  return (params ?? []).map((p) => (p === null ? null : String(p)));
}
