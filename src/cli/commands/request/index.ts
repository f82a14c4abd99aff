import type { Command } from 'commander';
import type { CreateOptions } from './create.js';
import type { ListOptions } from './ls.js';

export function register(program: Command): void {
  const request = program.command('request').description('ask for a role just in time; review held statements and role requests');

  request
    .command('create')
    .description('ask for a role; waits for a reviewer unless --no-wait')
    .requiredOption('--role <role>', 'the role you need')
    .requiredOption('--reason <text>', 'why you need it')
    .option('--no-wait', 'return at once with the request id')
    .option('--timeout <seconds>', 'how long to wait for a decision', '600')
    .option('--format <format>', 'text or json', 'text')
    .action(async (o: CreateOptions) => (await import('./create.js')).create(o));

  request
    .command('ls')
    .description('list requests you made or may decide')
    .option('--state <state>', 'pending, approved, denied or expired')
    .option('--watch', 'keep the list on screen, refreshed every second')
    .option('--format <format>', 'table or json', 'table')
    .action(async (o: ListOptions) => (await import('./ls.js')).list(o));

  request
    .command('approve')
    .description('approve a held statement or a role request')
    .argument('<id>')
    .action(async (id: string) => (await import('./decide.js')).approve(id));

  request
    .command('deny')
    .description('deny a held statement or a role request')
    .argument('<id>')
    .option('--reason <text>', 'told to the requester')
    .action(async (id: string, o: { reason?: string }) => (await import('./decide.js')).deny(id, o));
}
