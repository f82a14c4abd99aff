// `agentdb request ls`: the list once, or --watch: live (ink) at a terminal, one line per change otherwise.
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiClient } from '../../../client/index.js';
import { isTty, printJson } from '../../output.js';
import { requestsTable, what, type RequestView } from './view.js';

export interface ListOptions {
  state?: string;
  watch?: boolean;
  format: string;
}

export async function list(o: ListOptions): Promise<void> {
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
}
