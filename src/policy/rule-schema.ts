// A statement rule as written in the role config. Unknown fields are errors, so a typo (`table:` for
// `tables:`) cannot silently turn a rule into one that matches everything.
import { z } from 'zod';
import { STATEMENT_KINDS } from './statement.js';

const pattern = z.string().trim().min(1, 'an empty name or pattern');
const lowerPatterns = z.array(pattern.transform((s) => s.toLowerCase())).min(1);

export const ruleMatchSchema = z
  .object({
    /** what the statement does (for allow: everything it does must be listed) */
    kinds: z.array(z.enum(STATEMENT_KINDS)).min(1).optional(),
    /** relations read: 'public.orders', 'orders' (same as public.orders), 'public.*', '*' */
    reads: z.array(pattern).min(1).optional(),
    /** relations written */
    writes: z.array(pattern).min(1).optional(),
    /** relations read or written */
    tables: z.array(pattern).min(1).optional(),
    /** functions called: 'pg_read_file' (any schema), 'pg_catalog.set_config', 'lo_*' */
    functions: lowerPatterns.optional(),
    /** settings changed by SET, RESET, set_config(): 'role', 'app.*' */
    settings: lowerPatterns.optional(),
    /** an UPDATE or DELETE without a WHERE that narrows the rows (or TRUNCATE) */
    whereless: z.boolean().optional(),
    /** RESET ALL or DISCARD ALL: every setting back to the value the session started with */
    resetsAll: z.boolean().optional(),
    /** writes more than this many relations */
    writesMoreThan: z.number().int().min(0).optional(),
    copyProgram: z.boolean().optional(),
    copyFile: z.boolean().optional(),
    /** true: only statements the analyzer could not classify (they match no other rule) */
    unclassified: z.boolean().optional(),
  })
  .strict();

export const ruleSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]*$/, 'a rule name of letters, digits and _ . : -'),
    match: ruleMatchSchema.default({}),
    action: z.enum(['allow', 'deny', 'review']),
    /** shown to the client with a denial, and to the reviewer */
    message: z.string().min(1).optional(),
  })
  .strict();

export type Rule = z.infer<typeof ruleSchema>;
export type RuleInput = z.input<typeof ruleSchema>;
export type RuleMatch = z.infer<typeof ruleMatchSchema>;
export type RuleAction = Rule['action'];
