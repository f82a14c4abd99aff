// Held statements: who may approve them for which database services, and how long one waits.
import { z } from 'zod';
import { durationText } from './duration-text.js';
import type { Role } from './roles.js';

export const DEFAULT_REVIEW_TIMEOUT = '5m';

export const reviewSchema = z
  .object({
    /** database services (or '*') whose held statements people with this role may approve or deny */
    databases: z.array(z.string().min(1)).default([]),
    /** how long a statement of this role's identities waits for a decision */
    timeout: durationText.optional(),
  })
  .strict();

/** Whether any of the roles may review held statements on the service. */
export function mayReview(roles: Readonly<Record<string, Role>>, roleNames: readonly string[], dbService: string): boolean {
  return roleNames.some((r) => roles[r]?.review?.databases.some((d) => d === '*' || d === dbService) ?? false);
}

/**
 * How long a held statement of an identity with these roles waits, in ms: the shortest timeout among its
 * roles, or 5 minutes. `parse` is the server's duration parser (the grammar durationText checks).
 */
export function reviewTimeoutFor(roles: Readonly<Record<string, Role>>, roleNames: readonly string[], parse: (d: string) => number): number {
  let ms: number | undefined;
  for (const r of roleNames) {
    const t = roles[r]?.review?.timeout;
    if (t !== undefined) ms = Math.min(ms ?? Infinity, parse(t));
  }
  return ms ?? parse(DEFAULT_REVIEW_TIMEOUT);
}
