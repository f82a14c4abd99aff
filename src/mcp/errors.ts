// The MCP layer's error catalogue, and the one function that turns any failure into a tool error: a code, the
// gateway's rule and message for a denial, the SQLSTATE for a database error; never a stack.
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { CodedError, SqlState } from '../pgwire/index.js';
import { untrusted } from './boundary.js';

export const McpErrorCode = {
  /** the gateway's policy refused the statement (42501 "denied by agentdb policy (rule X): ...") */
  DENIED: 'AGENTDB_ERR_MCP_DENIED',
  /** the task's data budget cut the result */
  BUDGET: 'AGENTDB_ERR_MCP_BUDGET',
  /** PostgreSQL refused or failed the statement */
  SQL: 'AGENTDB_ERR_MCP_SQL',
  /** no connection through the gateway (certificate refused, gateway down, session ended) */
  GATEWAY: 'AGENTDB_ERR_MCP_GATEWAY',
  /** a tool argument that cannot be used as given */
  BAD_ARGUMENT: 'AGENTDB_ERR_MCP_BAD_ARGUMENT',
  /** request_status for a request that is neither this server's nor visible to its identity */
  UNKNOWN_REQUEST: 'AGENTDB_ERR_MCP_UNKNOWN_REQUEST',
} as const;
export type McpErrorCode = (typeof McpErrorCode)[keyof typeof McpErrorCode];

/** The one error type of the MCP layer; `code` is stable, the message is for the model. */
export class McpError extends CodedError<McpErrorCode> {
  // The catalogue above is all it adds: the base holds the code and the message.
}

/** The gateway's own wording of a policy denial (session.ts): the rule name and why. */
const DENIAL = /^denied by agentdb policy \(rule ([^)]+)\): ([\s\S]*)$/;

export interface ToolErrorBody {
  code: string;
  message: string;
  call: string;
  rule?: string;
  sqlstate?: string;
}

/** What a failed call returns to the model. */
export function toolError(err: unknown, call: string): CallToolResult {
  const e = err as { code?: unknown; message?: unknown };
  const message = typeof e?.message === 'string' ? e.message : String(err);
  if (err instanceof McpError) return errorResult({ code: err.code, message, call });
  // A node-postgres DatabaseError: an ErrorResponse from the gateway or from PostgreSQL through it.
  const sqlstate = typeof e?.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code) ? e.code : undefined;
  if (sqlstate) {
    const denial = sqlstate === SqlState.INSUFFICIENT_PRIVILEGE ? DENIAL.exec(message) : null;
    if (denial) return errorResult({ code: McpErrorCode.DENIED, rule: denial[1]!, message: denial[2]!, sqlstate, call });
    // A result cut by the data budget (the gateway's task-budget.ts answers PROGRAM_LIMIT_EXCEEDED).
    if (sqlstate === SqlState.PROGRAM_LIMIT_EXCEEDED && /budget/.test(message)) return errorResult({ code: McpErrorCode.BUDGET, message, sqlstate, call });
    // PostgreSQL's own texts can quote values (invalid input syntax for ...: "<value>"): data, so inside a boundary.
    return { isError: true, content: [{ type: 'text', text: untrusted('the database error', { code: McpErrorCode.SQL, sqlstate, message, call }) }] };
  }
  return errorResult({ code: McpErrorCode.GATEWAY, message, call });
}

function errorResult(body: ToolErrorBody): CallToolResult {
  return { isError: true, content: [{ type: 'text', text: JSON.stringify({ error: body }) }] };
}
