// `agentdb mcp`: an MCP server on stdio for the logged-in identity, one task, one database. Stdout belongs to
// the MCP protocol: everything else goes to stderr.
import type { Command } from 'commander';
import { ApiClient } from '../../client/index.js';
import { openProxy, type DbFlags } from './db-flags.js';
import { VERSION } from '../version.js';

export function register(program: Command): void {
  program
    .command('mcp')
    .description('serve MCP tools (list_tables, describe_table, query, execute, explain, request_status) on stdio, through the gateway with a task certificate')
    .requiredOption('--db <name>', 'database service to reach')
    .option('--db-user <user>', 'database user (when your roles allow several)')
    .option('--db-name <name>', 'database name inside the service')
    .option('--task <text>', 'what this access is for; recorded in the certificate and every audit event')
    .option('--ttl <duration>', 'how long the certificate lives (capped by your roles)', '30m')
    .action(async (opts: DbFlags) => {
      // The SDK is loaded only when this command runs: the other commands do not pay for it.
      const { serveStdio } = await import('../../mcp/index.js');
      const { api, profile } = await ApiClient.fromProfile();
      try {
        const { proxy, close } = await openProxy({ ...opts, port: undefined, socket: undefined }, (err) => process.stderr.write(`agentdb mcp: ${err.message}\n`));
        try {
          process.stderr.write(`agentdb mcp: ${proxy.info.db} as ${proxy.info.dbUser}, task ${proxy.info.task.id} (${proxy.info.task.reason}), certificate until ${proxy.info.expiresAt}\n`);
          await serveStdio({ proxy: proxy.info, api, identity: profile.identity!.name, version: VERSION });
        } finally {
          await close();
        }
      } finally {
        await api.close();
      }
    });
}
