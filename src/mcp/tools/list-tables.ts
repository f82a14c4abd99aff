// list_tables: the tables and views the database user may read, with comments and PostgreSQL's row estimates.
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { untrusted } from '../boundary.js';
import { textResult, toolCall, type McpContext } from '../context.js';
import { readCatalog } from '../statement.js';
import { MAX_ROWS_LIMIT } from './params.js';

// The database's own privileges; the gateway's rules may refuse reading some of these still (query says so).
const LIST_SQL = `SELECT n.nspname AS schema, c.relname AS name,
  CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'f' THEN 'foreign table' END AS kind,
  pg_catalog.obj_description(c.oid, 'pg_class') AS comment,
  CASE WHEN c.reltuples < 0 THEN NULL ELSE c.reltuples::bigint END AS row_estimate
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'
  AND pg_catalog.has_table_privilege(c.oid, 'SELECT')
ORDER BY 1, 2`;

export function register(server: McpServer, ctx: McpContext): void {
  server.registerTool(
    'list_tables',
    {
      title: 'List tables',
      description: 'Lists the schemas\' tables and views this task\'s database user may read, with comments and row estimates.',
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    () =>
      toolCall(ctx, 'list_tables', async (label) => {
        const [r] = await readCatalog(ctx, label, [{ sql: LIST_SQL, params: [], maxRows: MAX_ROWS_LIMIT }]);
        return textResult(untrusted(`the tables of database ${ctx.db} (call ${label.call})`, { columns: r!.columns, rows: r!.rows, ...(r!.truncated ? { truncated: true } : {}) }));
      }),
  );
}
