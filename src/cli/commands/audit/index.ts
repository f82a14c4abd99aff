import type { Command } from 'commander';
import type { SearchFlags } from './search.js';
import type { VerifyFlags } from './verify.js';
import type { ExportFlags } from './export.js';

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
    .description('check the audit log\'s hash chain and signed checkpoint: an edited, deleted, reordered or cut event fails')
    .option('--file <export>', 'check an export offline instead of the server\'s log')
    .option('--public-key <file>', 'with --file: the signing key (PEM) to pin, from `agentdb audit public-key`')
    .action(async (f: VerifyFlags) => (await import('./verify.js')).verify(f));

  audit
    .command('export')
    .description('write the audit log with hashes and signed checkpoints to stdout, for a SIEM or audit verify --file')
    .option('--since <when>', 'a duration ago (10m, 2h) or an ISO time')
    .option('--format <format>', 'jsonl or ocsf', 'jsonl')
    .action(async (f: ExportFlags) => (await import('./export.js')).exportAudit(f));

  audit
    .command('public-key')
    .description('print the key that signs audit checkpoints (PEM), to pin with audit verify --public-key')
    .action(async () => (await import('./public-key.js')).publicKey());
}
