import type { Command } from 'commander';
import { addDbFlags, type DbFlags } from '../db-flags.js';

export function register(program: Command): void {
  addDbFlags(program.command('exec').description('run a command with PGHOST/PGPORT/PGUSER/PGPASSWORD/PGDATABASE/DATABASE_URL pointing at a task-scoped tunnel'))
    .argument('<command...>', 'the command to run, after --')
    .passThroughOptions()
    .action(async (command: string[], opts: DbFlags) => (await import('./run.js')).run(command, opts));
}
