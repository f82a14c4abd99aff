// `agentdb server`: the control plane and the gateway from a config file, or a development cluster with --dev.
import path from 'node:path';
import { agentdbHome } from '../../../client/index.js';
import { loadConfig, startServer, startDevCluster } from '../../../server/index.js';
import { UsageError } from '../../exit-codes.js';
import { VERSION } from '../../version.js';
import { waitForShutdown } from '../../lifecycle.js';

export interface ServerOptions {
  config?: string;
  dev?: boolean;
  dataDir?: string;
  log?: boolean;
}

export async function run(opts: ServerOptions): Promise<void> {
  if (!opts.dev && !opts.config) throw new UsageError('give --config FILE, or --dev for a development cluster');
  if (opts.dev) {
    const dataDir = opts.dataDir ?? path.join(agentdbHome(), 'dev');
    const cluster = await startDevCluster({ dataDir, version: VERSION, log: !!opts.log, provisionAgent: true });
    process.stdout.write(JSON.stringify({ ready: true, devFile: cluster.devFile, server: cluster.info.server, gateway: cluster.info.gateway }) + '\n');
    await waitForShutdown(cluster.close);
    return;
  }
  const config = await loadConfig(opts.config!);
  const dataDir = opts.dataDir ?? config.dataDir ?? path.join(agentdbHome(), 'server');
  const server = await startServer(config, { dataDir, version: VERSION, log: opts.log ?? true });
  process.stdout.write(JSON.stringify({ ready: true, server: server.apiUrl, gateway: server.gateway, caFile: server.caFile }) + '\n');
  await waitForShutdown(server.close);
}
