import { ApiClient } from '../../../client/index.js';

export async function unlock(id: string): Promise<void> {
  await ApiClient.use((api) => api.call('DELETE', `/v1/locks/${encodeURIComponent(id)}`));
  process.stdout.write(`Unlocked ${id}\n`);
}
