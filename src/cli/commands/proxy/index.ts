import type { Command } from 'commander';
import { addDbFlags } from '../db-flags.js';
import type { ProxyOptions } from './run.js';

export function register(program: Command): void {
  addDbFlags(program.command('proxy').description('open a local PostgreSQL listener that tunnels to the gateway with a task certificate'))
    .option('--format <format>', 'text, or json: one line when ready', 'text')
    .action(async (opts: ProxyOptions) => (await import('./run.js')).run(opts));
}
