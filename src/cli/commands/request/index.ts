import type { Command } from 'commander';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiClient, ClientError } from '../../../client/index.js';
import { UsageError } from '../../exit-codes.js';
import { formatTable, isTty, printJson } from '../../output.js';

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

function what(r: RequestView): string {
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

export function register(program: Command): void {
  const request = program.command('request').description('ask for a role just in time; review held statements and role requests');

  request
    .command('create')
    .description('ask for a role; waits for a reviewer unless --no-wait')
    .requiredOption('--role <role>', 'the role you need')
    .requiredOption('--reason <text>', 'why you need it')
    .option('--no-wait', 'return at once with the request id')
    .option('--timeout <seconds>', 'how long to wait for a decision', '600')
    .option('--format <format>', 'text or json', 'text')
    .action(async (o: { role: string; reason: string; wait: boolean; timeout: string; format: string }) => {
      const timeoutMs = Number(o.timeout) * 1000;
      if (!(timeoutMs > 0)) throw new UsageError('--timeout takes a number of seconds');
      await ApiClient.use(async (api) => {
        let r = await api.post<RequestView>('/v1/requests', { role: o.role, reason: o.reason });
        if (o.format !== 'json') process.stdout.write(`Request ${r.id} for role ${o.role} created; a reviewer can run: agentdb request approve ${r.id}\n`);
        if (!o.wait) {
          if (o.format === 'json') printJson(r);
          return;
        }
        const deadline = Date.now() + timeoutMs;
        while (r.state === 'pending' && Date.now() < deadline) {
          await sleep(1000);
          r = (await api.get<{ requests: RequestView[] }>('/v1/requests')).requests.find((x) => x.id === r.id) ?? r;
        }
        if (o.format === 'json') printJson(r);
        if (r.state === 'approved') {
          if (o.format !== 'json') process.stdout.write(`Approved by ${r.decidedBy}: your next certificate may carry role ${o.role} until ${r.expiresAt}\n`);
          return;
        }
        if (r.state === 'pending') throw new ClientError('AGENTDB_ERR_REQUEST_TIMEOUT', `no decision on ${r.id} within ${o.timeout}s; it stays open: check with agentdb request ls`, 5);
        throw new ClientError('AGENTDB_ERR_REQUEST_DENIED', `request ${r.id} was ${r.state}${r.decidedBy ? ` by ${r.decidedBy}` : ''}${r.reason ? `: ${r.reason}` : ''}`, 4);
      });
    });

  request
    .command('ls')
    .description('list requests you made or may decide')
    .option('--state <state>', 'pending, approved, denied or expired')
    .option('--watch', 'keep the list on screen, refreshed every second')
    .option('--format <format>', 'table or json', 'table')
    .action(async (o: { state?: string; watch?: boolean; format: string }) => {
      const query = o.state ? `?state=${encodeURIComponent(o.state)}` : '';
      await ApiClient.use(async (api) => {
        const fetch = async () => (await api.get<{ requests: RequestView[] }>(`/v1/requests${query}`)).requests;
        if (!o.watch) {
          const list = await fetch();
          if (o.format === 'json') list.forEach((r) => printJson(r));
          else process.stdout.write(list.length ? requestsTable(list) : 'No requests.\n');
          return;
        }
        if (isTty() && o.format !== 'json') {
          const { watchRequests } = await import('../../views/requests.js');
          await watchRequests(fetch);
          return;
        }
        // Not a terminal: one line (or JSON object) per request as it appears or changes.
        const seen = new Map<string, string>();
        for (;;) {
          for (const r of await fetch()) {
            const key = `${r.state}/${r.decidedBy ?? ''}`;
            if (seen.get(r.id) === key) continue;
            seen.set(r.id, key);
            if (o.format === 'json') printJson(r);
            else process.stdout.write(`${r.id} ${r.kind} ${r.state}${r.decidedBy ? ` by ${r.decidedBy}` : ''} ${r.requester}: ${what(r)}\n`);
          }
          await sleep(1000);
        }
      });
    });

  request
    .command('approve')
    .description('approve a held statement or a role request')
    .argument('<id>')
    .action(async (id: string) => {
      const r = await ApiClient.use((api) => api.post<RequestView>(`/v1/requests/${encodeURIComponent(id)}/approve`));
      process.stdout.write(`Approved ${r.id} (${what(r)})\n`);
    });

  request
    .command('deny')
    .description('deny a held statement or a role request')
    .argument('<id>')
    .option('--reason <text>', 'told to the requester')
    .action(async (id: string, o: { reason?: string }) => {
      const r = await ApiClient.use((api) => api.post<RequestView>(`/v1/requests/${encodeURIComponent(id)}/deny`, o.reason ? { reason: o.reason } : {}));
      process.stdout.write(`Denied ${r.id} (${what(r)})\n`);
    });
}
