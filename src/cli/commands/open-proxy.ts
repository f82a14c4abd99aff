// Starting the local proxy for `proxy`, `exec` and `mcp`, with the logged-in profile's API client.
import { ApiClient, startProxy, type RunningProxy } from '../../client/index.js';
import { UsageError } from '../exit-codes.js';
import type { DbFlags } from './db-flags.js';

export async function openProxy(flags: DbFlags, onError?: (err: Error) => void): Promise<{ proxy: RunningProxy; close(): Promise<void> }> {
  const port = flags.port === undefined ? 0 : Number(flags.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port ${flags.port} is not a port number`);
  const { api, profile } = await ApiClient.fromProfile();
  try {
    const proxy = await startProxy({
      api,
      identity: profile.identity!.name,
      db: flags.db,
      port,
      ...(flags.dbUser ? { dbUser: flags.dbUser } : {}),
      ...(flags.dbName ? { dbName: flags.dbName } : {}),
      ...(flags.task ? { task: flags.task } : {}),
      ...(flags.ttl ? { ttl: flags.ttl } : {}),
      ...(flags.socket ? { socketDir: flags.socket } : {}),
      ...(onError ? { onError } : {}),
    });
    return {
      proxy,
      async close() {
        await proxy.close();
        await api.close();
      },
    };
  } catch (err) {
    await api.close();
    throw err;
  }
}
