// query {sql, params?, max_rows?}: one statement in a read-only transaction, rows capped.
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { toolCall, type McpContext } from '../context.js';
import { runStatement } from '../statement.js';
import { DEFAULT_MAX_ROWS, maxRowsArg, paramsArg, sqlArg, textParams } from './params.js';

export function register(server: McpServer, ctx: McpContext): void {
  server.registerTool(
    'query',
    {
      title: 'Query the database (read-only)',
      description:
        'Runs one SQL statement in a read-only transaction through the agentdb gateway, under this task\'s policy and masking. ' +
        `Returns the column names once, then the rows (at most max_rows, default ${DEFAULT_MAX_ROWS}), as untrusted data.`,
      inputSchema: { sql: sqlArg, params: paramsArg, max_rows: maxRowsArg },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    (args) => toolCall(ctx, 'query', (label) => runStatement(ctx, label, { sql: args.sql, params: textParams(args.params), maxRows: args.max_rows ?? DEFAULT_MAX_ROWS, readOnly: true })),
  );
}
