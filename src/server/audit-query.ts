// The audit search the CLI's `audit search` runs (GET /v1/audit/events) and the web console's audit page: one
// query shape, one mapping to the log's filter, one rule for who may read the log.
import { z } from 'zod';
import type { AuditQuery } from '../audit/index.js';
import type { Identity } from '../identity/index.js';
import type { Role } from '../policy/index.js';
import { parseTimeOrAgo } from './duration.js';

export const auditSearchQuery = z.object({
  user: z.string().optional(),
  db: z.string().optional(),
  task: z.string().optional(),
  sid: z.string().optional(),
  type: z.string().optional(),
  since: z.string().optional(),
  until: z.string().optional(),
  query: z.string().optional(),
  limit: z.coerce.number().int().min(1).max(10_000).optional(),
});
export type AuditSearchQuery = z.infer<typeof auditSearchQuery>;

/** The log's filter for a search; empty fields are no filter, `since`/`until` take a time or an age (1h). */
export function auditFilter(q: AuditSearchQuery): AuditQuery {
  return {
    ...(q.user ? { user: q.user } : {}),
    ...(q.db ? { db: q.db } : {}),
    ...(q.task ? { task: q.task } : {}),
    ...(q.sid ? { sid: q.sid } : {}),
    ...(q.type ? { type: q.type } : {}),
    ...(q.since ? { since: parseTimeOrAgo(q.since) } : {}),
    ...(q.until ? { until: parseTimeOrAgo(q.until) } : {}),
    ...(q.query ? { query: q.query } : {}),
    limit: q.limit ?? 100,
  };
}

/** Reading the audit log (and placing locks, an incident response) takes a role with `audit: true`. */
export function mayReadAudit(roles: Record<string, Role>, identity: Identity): boolean {
  return identity.roles.some((r) => roles[r]?.audit);
}
