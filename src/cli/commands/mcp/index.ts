import type { Command } from 'commander';
import { addTaskFlags, type DbFlags } from '../db-flags.js';

export function register(program: Command): void {
  addTaskFlags(
    program
      .command('mcp')
      .description('serve MCP tools (list_tables, describe_table, query, execute, explain, request_status) on stdio, through the gateway with a task certificate'),
  ).action(async (opts: DbFlags) => (await import('./run.js')).run(opts));
}
