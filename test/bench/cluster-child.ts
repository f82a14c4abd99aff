// The body both child processes share that run the agentdb server for a measurement (the bench's
// cluster-process.ts, the soak's server-process.ts): start the dev cluster from dist/ with a config hook,
// stop it on 'close', SIGTERM or a lost parent, answer memory requests, and tell the parent 'ready' or 'failed'.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { answerMemoryRequests } from './child-memory.ts';

type ServerModule = typeof import('../../src/server/index.js');
type Config = import('../../src/server/index.js').Config;
type DevCluster = import('../../src/server/index.js').DevCluster;

export interface ClusterChildOptions {
  adminUrl: string;
  databaseName: string;
  dataDir: string;
  /** the version string the server reports */
  version: string;
  configure(config: Config): void;
  /** a parent message other than 'close' (which this handles) */
  onMessage?(msg: { type?: string } & Record<string, unknown>, cluster: DevCluster): void;
  /** what the 'ready' message carries besides the cluster's info */
  readyExtra?(cluster: DevCluster): Record<string, unknown>;
}

export const sendToParent = (msg: object): void => void process.send?.(msg);

export async function serveClusterInChild(opts: ClusterChildOptions): Promise<void> {
  try {
    const distServer = pathToFileURL(path.resolve(import.meta.dirname, '../../dist/server/index.js')).href;
    const { startDevCluster } = (await import(distServer)) as ServerModule;
    const cluster = await startDevCluster({
      dataDir: opts.dataDir,
      version: opts.version,
      adminUrl: opts.adminUrl,
      databaseName: opts.databaseName,
      configure: opts.configure,
    });
    let closing: Promise<void> | undefined;
    const close = () => {
      closing ??= cluster.close().finally(() => process.exit(0));
      return closing;
    };
    process.on('disconnect', () => void close());
    process.on('SIGTERM', () => void close());
    process.on('message', (msg: { type?: string } & Record<string, unknown>) => {
      if (msg.type === 'close') void close();
      else opts.onMessage?.(msg, cluster);
    });
    answerMemoryRequests();
    sendToParent({ type: 'ready', info: cluster.info, ...(opts.readyExtra?.(cluster) ?? {}) });
  } catch (err) {
    sendToParent({ type: 'failed', message: (err as Error).stack ?? String(err) });
    process.exit(1);
  }
}
