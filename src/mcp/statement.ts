// The path every SQL-running tool shares: its own connection through the gateway, one statement (read-only
// transaction when the tool only reads), and a result handed over compact (column names once, then rows) inside
// the call's untrusted-data boundary; or, when the gateway holds the statement, pending_approval.
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { untrusted } from './boundary.js';
import type { CappedResult } from './capped-query.js';
import type { CallConnection, CallLabel } from './connections.js';
import { textResult, type McpContext } from './context.js';
import { statementHash, type RequestView } from './held-statements.js';

export interface StatementInput {
  sql: string;
  params: (string | null)[];
  maxRows: number;
  /** run inside BEGIN READ ONLY ... ROLLBACK: a write fails in PostgreSQL whatever the policy allows */
  readOnly: boolean;
}

/** The compact form of a result, as the model gets it (inside a boundary). */
export function compact(r: CappedResult): Record<string, unknown> {
  return {
    ...(r.command ? { command: r.command } : {}),
    ...(r.rowCount !== undefined ? { rowCount: r.rowCount } : {}),
    columns: r.columns,
    rows: r.rows,
    ...(r.truncated ? { truncated: true, note: `only the first ${r.rows.length} rows; ask for fewer rows or raise max_rows` } : {}),
    ...(r.notices ? { notices: r.notices } : {}),
  };
}

export function resultText(r: CappedResult, call: string): string {
  return untrusted(`the result of call ${call}`, compact(r));
}

async function runOn(conn: CallConnection, s: StatementInput): Promise<CappedResult> {
  if (s.readOnly) await conn.command('BEGIN READ ONLY');
  conn.takeNotices();
  try {
    const r = await conn.run(s.sql, s.params, s.maxRows);
    const notices = conn.takeNotices();
    return notices.length > 0 ? { ...r, notices } : r;
  } finally {
    // Nothing a read-only transaction did is worth keeping; an aborted one needs ending before the connection closes.
    if (s.readOnly) await conn.command('ROLLBACK').catch(() => undefined);
  }
}

/** Our own catalog reads (list_tables, describe_table): read-only statements on one connection, waited for. */
export async function readCatalog(ctx: McpContext, label: CallLabel, reads: { sql: string; params: (string | null)[]; maxRows: number }[]): Promise<CappedResult[]> {
  const conn = await ctx.conns.open(label);
  try {
    await conn.command('BEGIN READ ONLY');
    const out: CappedResult[] = [];
    for (const r of reads) out.push(await conn.run(r.sql, r.params, r.maxRows));
    return out;
  } finally {
    await conn.close();
  }
}

/** A statement the agent wrote: its result, or pending_approval when the gateway holds it for a reviewer. */
export async function runStatement(ctx: McpContext, label: CallLabel, s: StatementInput): Promise<CallToolResult> {
  const conn = await ctx.conns.open(label);
  const outcome = await ctx.held.waitOrHeld(runOn(conn, s), conn.held, label.call, () => void conn.close());
  if ('done' in outcome) return textResult(resultText(outcome.done, label.call));
  // The rule and why, as the reviewer sees them; the request id alone is enough if the list cannot be read.
  const request = (await ctx.held.request(outcome.held).catch(() => undefined)) ?? { id: outcome.held };
  return pending(ctx, conn, request, s, label.call);
}

async function pending(ctx: McpContext, conn: CallConnection, request: Pick<RequestView, 'id' | 'statement'>, s: StatementInput, call: string): Promise<CallToolResult> {
  const hash = statementHash(s.sql, s.params);
  const rule = request.statement?.rule ?? 'review';
  // Elicitation informs the person at the client and lets them withdraw the statement; it approves nothing:
  // only a reviewer in agentdb can (agentdb request approve).
  const answer = await ctx.confirm(
    [
      `agentdb holds a statement of this agent for review (request ${request.id}, rule ${rule}${request.statement?.message ? `: ${request.statement.message}` : ''}).`,
      `Statement sha256 ${hash}:`,
      s.sql,
      ...(s.params.length ? [`Parameters: ${JSON.stringify(s.params)}`] : []),
      `It runs only if a reviewer approves it in agentdb (agentdb request approve ${request.id}). Accept to keep it waiting for the reviewer; decline to withdraw it.`,
    ].join('\n'),
  );
  if (answer === 'decline' || answer === 'cancel') {
    await conn.cancel();
    const body = { status: 'withdrawn', request: request.id, rule, statement_sha256: hash, call, message: 'the person at the MCP client withdrew the statement; it did not run' };
    return { content: [{ type: 'text', text: JSON.stringify(body) }], structuredContent: body };
  }
  const body = {
    status: 'pending_approval',
    request: request.id,
    rule,
    ...(request.statement?.message ? { reason: request.statement.message } : {}),
    statement_sha256: hash,
    call,
    elicitation: answer === 'unsupported' ? 'not supported by this client' : 'the person at the client was asked and keeps it waiting',
    next: `a reviewer must approve it in agentdb (agentdb request approve ${request.id}); call request_status with id ${request.id} to learn when it ran or was denied`,
  };
  return { content: [{ type: 'text', text: JSON.stringify(body) }], structuredContent: body };
}
