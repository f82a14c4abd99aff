// `agentdb audit search`: the control plane's search as a table, or one JSON event a line.
import { ApiClient } from '../../../client/index.js';
import type { AuditEvent } from '../../../audit/index.js';
import { UsageError } from '../../exit-codes.js';
import { formatTable, printJson } from '../../output.js';

export interface SearchFlags {
  user?: string; db?: string; task?: string; sid?: string; type?: string; since?: string; until?: string; query?: string; limit: string; format: string;
}

export async function search(f: SearchFlags): Promise<void> {
  if (!['table', 'json'].includes(f.format)) throw new UsageError(`--format ${f.format}: use table or json`);
  if (!/^\d+$/.test(f.limit)) throw new UsageError('--limit takes a whole number');
  const params = new URLSearchParams();
  for (const k of ['user', 'db', 'task', 'sid', 'type', 'since', 'until', 'query', 'limit'] as const) {
    const v = f[k];
    if (v !== undefined) params.set(k, v);
  }
  const { events } = await ApiClient.use((api) => api.get<{ events: AuditEvent[] }>(`/v1/audit/events?${params}`));
  if (f.format === 'json') {
    for (const e of events) printJson(e);
    return;
  }
  const rows = events.map((e) => [
    e.time.replace('T', ' ').replace(/\.\d+Z$/, 'Z'),
    e.type,
    e.identity?.name ?? '',
    e.db ? `${e.db.user}@${e.db.service}` : '',
    e.task ? `${e.task.id} ${e.task.reason}` : '',
    e.sid ?? '',
    e.statement ? `${e.statement.decision === 'allow' ? '' : `[${e.statement.decision}] `}${e.statement.sql}` : (e.message ?? ''),
  ]);
  process.stdout.write(formatTable(['TIME', 'TYPE', 'IDENTITY', 'DATABASE', 'TASK', 'SESSION', 'STATEMENT'], rows, 60));
  if (events.length === Number(f.limit)) process.stdout.write(`(first ${f.limit} events; narrow the search or raise --limit)\n`);
}
