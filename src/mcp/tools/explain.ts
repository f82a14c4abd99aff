// explain {sql}: PostgreSQL's plan of a statement, in a read-only transaction (the gateway decides EXPLAIN as the
// statement it explains).
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { toolCall, type McpContext } from '../context.js';
import { runStatement } from '../statement.js';
import { MAX_ROWS_LIMIT, sqlArg } from './params.js';

export function register(server: McpServer, ctx: McpContext): void {
  server.registerTool(
    'explain',
    {
      title: 'Explain a statement',
      description: 'Shows PostgreSQL\'s plan for one SQL statement (EXPLAIN, not run), through the agentdb gateway in a read-only transaction.',
      inputSchema: { sql: sqlArg },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    (args) => toolCall(ctx, 'explain', (label) => runStatement(ctx, label, { sql: `EXPLAIN ${args.sql}`, params: [], maxRows: MAX_ROWS_LIMIT, readOnly: true })),
  );
}
