// execute {sql, params?}: one statement that may write, as the task's roles allow; held ones answer pending_approval.
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { toolCall, type McpContext } from '../context.js';
import { runStatement } from '../statement.js';
import { DEFAULT_MAX_ROWS, paramsArg, sqlArg, textParams } from './params.js';

export function register(server: McpServer, ctx: McpContext): void {
  server.registerTool(
    'execute',
    {
      title: 'Execute a statement (may write)',
      description:
        'Runs one SQL statement (INSERT, UPDATE, DELETE, ...) through the agentdb gateway, as this task\'s roles allow. ' +
        'A statement the policy holds for review returns status pending_approval with a request id: a person must approve it in agentdb; ' +
        'request_status tells when it ran or was denied. Never retry a pending statement: it would be held again.',
      inputSchema: { sql: sqlArg, params: paramsArg },
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
    },
    (args) => toolCall(ctx, 'execute', (label) => runStatement(ctx, label, { sql: args.sql, params: textParams(args.params), maxRows: DEFAULT_MAX_ROWS, readOnly: false })),
  );
}
