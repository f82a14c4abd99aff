// describe_table {table}: columns, types, keys, and which columns the gateway masks for this task and how (the
// plan comes from the control plane: server/masking-plan.ts; the gateway applies it whatever this shows).
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { untrusted } from '../boundary.js';
import { textResult, toolCall, type McpContext } from '../context.js';
import { McpError, McpErrorCode } from '../errors.js';
import type { CappedResult } from '../capped-query.js';
import { readCatalog } from '../statement.js';
import { MAX_ROWS_LIMIT } from './params.js';

const RELATION_SQL = `SELECT n.nspname AS schema, c.relname AS name, pg_catalog.obj_description(c.oid, 'pg_class') AS comment
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = pg_catalog.to_regclass($1)`;
const COLUMNS_SQL = `SELECT a.attname AS name, pg_catalog.format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null,
  pg_catalog.col_description(a.attrelid, a.attnum) AS comment
FROM pg_catalog.pg_attribute a WHERE a.attrelid = pg_catalog.to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`;
const KEYS_SQL = `SELECT con.conname AS name, CASE con.contype WHEN 'p' THEN 'primary key' WHEN 'u' THEN 'unique' WHEN 'f' THEN 'foreign key' END AS kind,
  pg_catalog.pg_get_constraintdef(con.oid) AS definition
FROM pg_catalog.pg_constraint con WHERE con.conrelid = pg_catalog.to_regclass($1) AND con.contype IN ('p', 'u', 'f') ORDER BY 2, 1`;

interface MaskingPlan {
  columns: { schema: string; table: string; column: string; strategy: string }[];
  detectors: string[];
  filters: 'deny' | 'allow';
}

export function register(server: McpServer, ctx: McpContext): void {
  let plan: Promise<MaskingPlan> | undefined;
  const maskingPlan = () => {
    plan ??= ctx.api.get<MaskingPlan>(`/v1/masking-plan?task=${encodeURIComponent(ctx.task.id)}`);
    plan.catch(() => (plan = undefined));
    return plan;
  };
  server.registerTool(
    'describe_table',
    {
      title: 'Describe a table',
      description: 'Columns (type, nullability, comment), keys, and which columns agentdb masks for this task and how.',
      inputSchema: { table: z.string().min(1).max(300).describe('table or view name, optionally schema-qualified (public.customers)') },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    (args) =>
      toolCall(ctx, 'describe_table', async (label) => {
        const [[relation, columns, keys], masking] = await Promise.all([
          readCatalog(ctx, label, [
            { sql: RELATION_SQL, params: [args.table], maxRows: 1 },
            { sql: COLUMNS_SQL, params: [args.table], maxRows: MAX_ROWS_LIMIT },
            { sql: KEYS_SQL, params: [args.table], maxRows: MAX_ROWS_LIMIT },
          ]) as Promise<[CappedResult, CappedResult, CappedResult]>,
          maskingPlan(),
        ]);
        const row = relation.rows[0];
        if (!row) throw new McpError(McpErrorCode.BAD_ARGUMENT, `no table or view ${JSON.stringify(args.table)} is visible to this task's database user`);
        const [schema, name, comment] = row as [string, string, string | null];
        const masked = new Map(masking.columns.filter((c) => c.schema === schema && c.table === name).map((c) => [c.column, c.strategy]));
        const body = {
          table: `${schema}.${name}`,
          ...(comment ? { comment } : {}),
          columns: columns.rows.map(([col, type, notNull, colComment]) => ({
            name: col,
            type,
            nullable: notNull !== 't',
            ...(colComment ? { comment: colComment } : {}),
            ...(masked.has(col!) ? { masked: masked.get(col!) } : {}),
          })),
          keys: keys.rows.map(([keyName, kind, definition]) => ({ name: keyName, kind, definition })),
          masking: {
            note: 'masked columns come back masked whatever the SQL; content detectors mask matching text in any column',
            detectors: masking.detectors,
            filters_on_masked_columns: masking.filters === 'allow' ? 'allowed' : 'refused (WHERE, JOIN, ORDER BY, GROUP BY on a masked column)',
          },
        };
        return textResult(untrusted(`the description of ${schema}.${name} (call ${label.call})`, body));
      }),
  );
}
