// `agentdb mcp`: an MCP server on stdio for the logged-in identity, one task, one database. Stdout belongs to
// the MCP protocol: everything else goes to stderr.
import { ApiClient } from '../../../client/index.js';
import { serveStdio } from '../../../mcp/index.js';
import type { DbFlags } from '../db-flags.js';
import { openProxy } from '../open-proxy.js';
import { VERSION } from '../../version.js';

export async function run(opts: DbFlags): Promise<void> {
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
}
