// `agentdb request create`: ask for a role, then wait for a reviewer's decision (exit 4 denied, 5 no decision).
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiClient, ClientError } from '../../../client/index.js';
import { ExitCode, UsageError } from '../../exit-codes.js';
import { CliErrorCode } from '../../errors.js';
import { printJson } from '../../output.js';
import type { RequestView } from './view.js';

export interface CreateOptions {
  role: string;
  reason: string;
  wait: boolean;
  timeout: string;
  format: string;
}

export async function create(o: CreateOptions): Promise<void> {
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
    if (r.state === 'pending') throw new ClientError(CliErrorCode.REQUEST_TIMEOUT, `no decision on ${r.id} within ${o.timeout}s; it stays open: check with agentdb request ls`, ExitCode.APPROVAL_TIMEOUT);
    throw new ClientError(CliErrorCode.REQUEST_DENIED, `request ${r.id} was ${r.state}${r.decidedBy ? ` by ${r.decidedBy}` : ''}${r.reason ? `: ${r.reason}` : ''}`, ExitCode.DENIED);
  });
}
