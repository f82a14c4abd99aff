import type { Command } from 'commander';
import type { StatusOptions } from './run.js';

export function register(program: Command): void {
  program
    .command('status')
    .description('who you are logged in as, with which roles, until when')
    .option('--format <format>', 'text or json', 'text')
    .action(async (opts: StatusOptions) => (await import('./run.js')).run(opts));
}
