// `agentdb lock`: lock an identity or a task now, or --list the active locks.
import { ApiClient } from '../../../client/index.js';
import { UsageError } from '../../exit-codes.js';
import { formatTable, printJson } from '../../output.js';
// The API answers with the stored lock as it is (GET/POST /v1/locks).
import type { LockRecord as LockView } from '../../../store/index.js';

export interface LockOptions {
  user?: string;
  task?: string;
  reason?: string;
  ttl?: string;
  future?: boolean;
  list?: boolean;
  format: string;
}

export async function lock(o: LockOptions): Promise<void> {
  if (o.list) {
    const { locks } = await ApiClient.use((api) => api.get<{ locks: LockView[] }>('/v1/locks'));
    if (o.format === 'json') return locks.forEach((l) => printJson(l));
    process.stdout.write(locks.length
      ? formatTable(['ID', 'TARGET', 'BY', 'SINCE', 'UNTIL', 'REASON'], locks.map((l) => [l.id, l.target.user ? `user ${l.target.user}` : `task ${l.target.task}`, l.createdBy, l.createdAt, l.expiresAt ?? '', l.reason]))
      : 'No active locks.\n');
    return;
  }
  if (!o.user === !o.task) throw new UsageError('lock either --user U or --task T');
  if (!o.reason) throw new UsageError('say why with --reason TEXT');
  const lock = await ApiClient.use((api) => api.post<LockView>('/v1/locks', { ...(o.user ? { user: o.user } : {}), ...(o.task ? { task: o.task } : {}), reason: o.reason, ...(o.ttl ? { ttl: o.ttl } : {}), ...(o.future ? { future: true } : {}) }));
  if (o.format === 'json') printJson(lock);
  else process.stdout.write(`Locked ${o.user ? `user ${o.user}` : `tasks whose id is, or whose text contains, "${o.task}"`}${o.future ? ' (from now on)' : ''} (${lock.id}); undo with agentdb unlock ${lock.id}\n`);
}
