// A request as the API returns it, and how the CLI shows one: a line, or a table of them.
import { formatTable } from '../../output.js';

export interface RequestView {
  id: string;
  kind: 'statement' | 'role';
  state: string;
  requester: string;
  createdAt: string;
  expiresAt: string;
  decidedBy?: string;
  reason?: string;
  role?: string;
  statement?: { sql: string; params?: (string | null)[]; rule: string; message?: string };
  db?: { service: string; name: string; user: string };
  task?: { id: string; reason: string };
  mayDecide?: boolean;
}

export function what(r: RequestView): string {
  if (r.kind === 'role') return `role ${r.role}: ${r.reason ?? ''}`;
  const params = r.statement?.params?.length ? `  -- params: ${JSON.stringify(r.statement.params)}` : '';
  // The message says why it is held; for review by effect, how many rows it would change.
  const why = r.statement?.message ? `: ${r.statement.message}` : '';
  return `${r.db?.user}@${r.db?.service}: ${r.statement?.sql}${params} (rule ${r.statement?.rule}${why}; task: ${r.task?.reason})`;
}

export function requestsTable(list: RequestView[]): string {
  return formatTable(
    ['ID', 'KIND', 'STATE', 'REQUESTER', 'CREATED', 'WHAT'],
    list.map((r) => [r.id, r.kind, r.state + (r.decidedBy ? ` by ${r.decidedBy}` : ''), r.requester, r.createdAt.replace('T', ' ').replace(/\.\d+Z$/, 'Z'), what(r)]),
    100,
  );
}
