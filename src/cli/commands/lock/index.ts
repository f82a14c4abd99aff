import type { Command } from 'commander';
import type { LockOptions } from './lock.js';

export function register(program: Command): void {
  program
    .command('lock')
    .description('stop an identity or a task now: no new certificates or sessions; open sessions end')
    .option('--user <name>', 'identity to lock')
    .option('--task <id-or-text>', 'task to lock: its id, or words of its text (as audit search --task matches)')
    .option('--reason <text>', 'why; shown to whoever is locked out')
    .option('--ttl <duration>', 'lift the lock by itself after this long')
    .option('--future', 'lock even though no such identity or task has been seen yet (only ones to come)')
    .option('--list', 'list active locks')
    .option('--format <format>', 'text or json', 'text')
    .action(async (o: LockOptions) => (await import('./lock.js')).lock(o));

  program
    .command('unlock')
    .description('remove a lock')
    .argument('<id>')
    .action(async (id: string) => (await import('./unlock.js')).unlock(id));
}
