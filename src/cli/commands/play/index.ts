import type { Command } from 'commander';
import type { PlayOptions } from './run.js';

export function register(program: Command): void {
  program
    .command('play')
    .description('play back a recorded database session')
    .argument('<sid>', 'session id (from `agentdb audit search`)')
    .option('--format <format>', 'text or json', 'text')
    .option('--speed <n>', 'replay at N times the recorded pace (text only); default: print at once')
    .action(async (sid: string, opts: PlayOptions) => (await import('./run.js')).run(sid, opts));
}
