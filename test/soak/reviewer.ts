// The soak's reviewer: the demo reviewer bot, logged in through the API as any bot would, polls the pending
// requests and decides each held statement of the soak, approving and denying in turn.
import { readFile } from 'node:fs/promises';
import { ApiClient } from '../../src/client/index.js';
import { clientCredentialsToken } from '../../src/identity/index.js';
import type { DevInfo } from '../../src/server/index.js';
import type { Tally } from './tally.ts';

/** The audience dev-cluster.ts configures. */
const DEV_AUDIENCE = 'urn:agentdb:dev';
const POLL_MS = 300;

interface PendingRequest {
  id: string;
  requester: string;
  statement?: { sql: string };
}

export interface Reviewer {
  approved: number;
  denied: number;
  stop(): Promise<void>;
}

export async function startReviewer(info: DevInfo, tally: Tally): Promise<Reviewer> {
  const bot = info.clients.find((c) => c.id === 'demo-reviewer');
  if (!bot) throw new Error('dev.json names no demo-reviewer client');
  const api = new ApiClient(info.server, await readFile(info.caFile, 'utf8'));
  const idpToken = await clientCredentialsToken({ issuer: info.issuer, clientId: bot.id, clientSecret: bot.secret, audience: DEV_AUDIENCE });
  api.setToken((await api.post<{ token: string }>('/v1/login/token', { token: idpToken })).token);

  const r: Reviewer = { approved: 0, denied: 0, stop: async () => undefined };
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        const { requests } = await api.get<{ requests: PendingRequest[] }>('/v1/requests?state=pending');
        for (const req of requests) {
          if (req.requester !== 'demo-agent' || !req.statement?.sql.includes('soak_held')) continue;
          const approve = (r.approved + r.denied) % 2 === 0;
          if (approve) await api.post(`/v1/requests/${req.id}/approve`);
          else await api.post(`/v1/requests/${req.id}/deny`, { reason: 'soak: every other one is denied' });
          if (approve) r.approved++;
          else r.denied++;
        }
      } catch (err) {
        tally.error('reviewer', err);
      }
      await new Promise((res) => setTimeout(res, POLL_MS));
    }
  })();
  r.stop = async () => {
    running = false;
    await loop;
    await api.close();
  };
  return r;
}
