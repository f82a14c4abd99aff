// The flags `proxy` and `exec` share: which database, as whom, for which task, for how long.
import type { Command } from 'commander';
import { ApiClient, startProxy, type RunningProxy } from '../../client/index.js';
import { UsageError } from '../exit-codes.js';

export interface DbFlags {
  db: string;
  dbUser?: string;
  dbName?: string;
  task?: string;
  ttl?: string;
  port?: string;
  socket?: string;
}

export function addDbFlags(cmd: Command): Command {
  return cmd
    .requiredOption('--db <name>', 'database service to reach')
    .option('--db-user <user>', 'database user (when your roles allow several)')
    .option('--db-name <name>', 'database name inside the service')
    .option('--task <text>', 'what this access is for; recorded in the certificate and every audit event')
    .option('--ttl <duration>', 'how long the certificate lives (capped by your roles)', '30m')
    .option('--port <port>', 'local port to listen on (default: a free one)')
    .option('--socket <dir>', 'also listen on a unix socket in this directory');
}

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
