// `agentdb audit verify`: the control plane checks its hash chain; a break is a failure with the first bad event.
import { ApiClient, ClientError } from '../../../client/index.js';

export async function verify(): Promise<void> {
  const r = await ApiClient.use((api) => api.get<{ ok: boolean; count: number; broken?: { index: number; id: string; reason: string } }>('/v1/audit/verify'));
  if (!r.ok) {
    throw new ClientError('AGENTDB_ERR_AUDIT_BROKEN', `audit chain broken at event #${r.broken?.index} (${r.broken?.id}): ${r.broken?.reason}`);
  }
  process.stdout.write(`Audit log intact: ${r.count} events, hash chain verified.\n`);
}
