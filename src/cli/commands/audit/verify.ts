import type { Command } from 'commander';
import { ApiClient, ClientError } from '../../../client/index.js';

export function register(audit: Command): void {
  audit
    .command('verify')
    .description('check the audit log\'s hash chain: an edited, deleted or reordered event breaks it')
    .action(async () => {
      const r = await ApiClient.use((api) => api.get<{ ok: boolean; count: number; broken?: { index: number; id: string; reason: string } }>('/v1/audit/verify'));
      if (!r.ok) {
        throw new ClientError('AGENTDB_ERR_AUDIT_BROKEN', `audit chain broken at event #${r.broken?.index} (${r.broken?.id}): ${r.broken?.reason}`);
      }
      process.stdout.write(`Audit log intact: ${r.count} events, hash chain verified.\n`);
    });
}
