// The `masking:` block of a role. Strategies say what a masked column turns into; detectors look at content
// whatever column it came from; `filters` says whether a masked column may steer a WHERE/JOIN/ORDER BY.
import { z } from 'zod';
import { parseColumnName } from './identifiers.js';

export const DETECTOR_KINDS = ['email', 'card', 'ssn', 'phone', 'iban', 'secret'] as const;
export type DetectorKind = (typeof DETECTOR_KINDS)[number];

const columnNameText = z.string().superRefine((value, ctx) => {
  try {
    parseColumnName(value);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
  }
});

export const strategySchema = z.union([
  z.enum(['redact', 'email', 'hash', 'null', 'partial']),
  z.object({ partial: z.number().int().min(1).max(64) }).strict(),
]);

export type StrategyConfig = z.infer<typeof strategySchema>;

export const maskingBlockSchema = z
  .object({
    /** schema.table.column (or table.column, schema public) -> strategy */
    columns: z.record(columnNameText, strategySchema).default({}),
    /** content detectors applied to every text value of every result */
    detectors: z.union([z.literal('all'), z.array(z.enum(DETECTOR_KINDS))]).default([]),
    /** whether a masked column may be used in WHERE, JOIN, ORDER BY, GROUP BY, HAVING, windows */
    filters: z.enum(['deny', 'allow']).optional(),
    /** columns this role sees unmasked, even where another role of the identity masks them */
    unmask: z.array(columnNameText).default([]),
    /** LISTEN/NOTIFY payloads: 'redact' replaces a payload whole, 'scan' only runs the detectors over it */
    notifications: z.enum(['redact', 'scan']).optional(),
  })
  .strict();

export type MaskingBlock = z.infer<typeof maskingBlockSchema>;
/** What a config file may hold before defaults are applied. */
export type MaskingBlockInput = z.input<typeof maskingBlockSchema>;
