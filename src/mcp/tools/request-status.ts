// request_status {id}: where a held statement stands: waiting for a reviewer, ran (with its result), denied or
// expired (with why). Reads this server's own record of the call and the control plane's request.
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import type { CappedResult } from '../capped-query.js';
import { textResult, toolCall, type McpContext } from '../context.js';
import { McpError, McpErrorCode, toolError } from '../errors.js';
import { resultText } from '../statement.js';

export function register(server: McpServer, ctx: McpContext): void {
  server.registerTool(
    'request_status',
    {
      title: 'Status of a held statement',
      description: 'Tells whether a statement held for review (pending_approval) is still waiting, ran (with its result), or was denied or expired.',
      inputSchema: { id: z.string().min(1).max(100).describe('the request id from a pending_approval result') },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    (args) =>
      toolCall(ctx, 'request_status', async () => {
        const { local, request } = await ctx.held.status(args.id);
        if (!local && !request) throw new McpError(McpErrorCode.UNKNOWN_REQUEST, `no request ${args.id} of this identity`);
        const head = {
          id: args.id,
          state: request?.state ?? 'unknown',
          ...(request?.decidedBy ? { decidedBy: request.decidedBy } : {}),
          ...(request?.reason ? { reason: request.reason } : {}),
          ...(local ? { call: local.call } : {}),
        };
        if (!local || local.outcome.state === 'waiting') {
          return textResult(JSON.stringify({ ...head, statement: request?.state === 'pending' ? 'waiting for a reviewer' : local ? 'decided; the statement is finishing' : 'not run from this MCP session' }));
        }
        if (local.outcome.state === 'ran') {
          return textResult(`${JSON.stringify({ ...head, statement: 'ran' })}\n${resultText(local.outcome.value as CappedResult, local.call)}`);
        }
        // Denied, expired or failed: the gateway's refusal (rule and message) or the database's error.
        const failure = toolError(local.outcome.error, local.call);
        return { ...failure, content: [{ type: 'text', text: JSON.stringify({ ...head, statement: 'did not run' }) }, ...failure.content] };
      }),
  );
}
