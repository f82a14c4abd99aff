import path from 'node:path';
import type { Command } from 'commander';
import { agentdbHome } from '../../client/index.js';
import { UsageError } from '../exit-codes.js';
import { VERSION } from '../version.js';
import { waitForShutdown } from '../lifecycle.js';

export function register(program: Command): void {
  program
    .command('server')
    .description('run the control plane and the gateway')
    .option('--config <file>', 'server configuration (YAML)')
    .option('--dev', 'development mode: embedded PostgreSQL, built-in OpenID provider, sample data; writes <data-dir>/dev.json')
    .option('--data-dir <dir>', 'where the CA, the audit log and recordings live')
    .option('--log', 'structured JSON logs on stderr')
    .action(async (opts: { config?: string; dev?: boolean; dataDir?: string; log?: boolean }) => {
      // The server side (embedded PostgreSQL, the IdP) loads only for the commands that run it.
      const { loadConfig, startServer, startDevCluster } = await import('../../server/index.js');
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
    });
}
