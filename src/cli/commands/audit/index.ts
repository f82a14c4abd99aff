import type { Command } from 'commander';
import type { SearchFlags } from './search.js';

export function register(program: Command): void {
  const audit = program.command('audit').description('search and verify the audit log');

  audit
    .command('search')
    .description('search the audit log')
    .option('--user <name>', 'identity name')
    .option('--db <name>', 'database service')
    .option('--task <text>', 'task id, or words from the task\'s reason')
    .option('--sid <id>', 'session id')
    .option('--type <type>', 'event type, e.g. db.session.query or db.session.*')
    .option('--since <when>', 'a duration ago (10m, 2h) or an ISO time')
    .option('--until <when>', 'a duration ago or an ISO time')
    .option('--query <text>', 'words in the SQL')
    .option('--limit <n>', 'at most this many events', '100')
    .option('--format <format>', 'table or json', 'table')
    .action(async (f: SearchFlags) => (await import('./search.js')).search(f));

  audit
    .command('verify')
    .description('check the audit log\'s hash chain: an edited, deleted or reordered event breaks it')
    .action(async () => (await import('./verify.js')).verify());
}
