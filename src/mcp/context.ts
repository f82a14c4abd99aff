// What every tool of one `agentdb mcp` run shares, and the one wrapper each tool call goes through: a call id,
// the connection label, and any failure turned into a tool error.
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { ApiClient } from '../client/index.js';
import { newCallId, type CallLabel, type GatewayConnections } from './connections.js';
import { toolError } from './errors.js';
import type { HeldStatements } from './held-statements.js';

export type Confirmation = 'accept' | 'decline' | 'cancel' | 'unsupported';

export interface McpContext {
  conns: GatewayConnections;
  held: HeldStatements;
  api: ApiClient;
  /** the task of the certificate the proxy was started with */
  task: { id: string; reason: string };
  db: string;
  /** the MCP client's name (clientInfo), once it has said it */
  clientName(): string;
  /** asks the person at the MCP client through elicitation, when the client supports it */
  confirm(message: string): Promise<Confirmation>;
}

/** Runs one tool call: `fn` gets the call's label; whatever it throws becomes a tool error with the call id. */
export async function toolCall(ctx: McpContext, tool: string, fn: (label: CallLabel) => Promise<CallToolResult>): Promise<CallToolResult> {
  const label: CallLabel = { client: ctx.clientName(), tool, call: newCallId() };
  try {
    return await fn(label);
  } catch (err) {
    return toolError(err, label.call);
  }
}

export function textResult(text: string): CallToolResult {
  return { content: [{ type: 'text', text }] };
}
