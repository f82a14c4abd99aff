import type { Command } from 'commander';
import { pgEnvironment, runWithEnvironment } from '../../client/index.js';
import { UsageError } from '../exit-codes.js';
import { addDbFlags, openProxy, type DbFlags } from './db-flags.js';

export function register(program: Command): void {
  addDbFlags(program.command('exec').description('run a command with PGHOST/PGPORT/PGUSER/PGPASSWORD/PGDATABASE/DATABASE_URL pointing at a task-scoped tunnel'))
    .argument('<command...>', 'the command to run, after --')
    .passThroughOptions()
    .action(async (command: string[], opts: DbFlags) => {
      if (command.length === 0) throw new UsageError('give the command to run after --');
      const { proxy, close } = await openProxy(opts, (err) => process.stderr.write(`agentdb exec: ${err.message}\n`));
      try {
        process.exitCode = await runWithEnvironment(command, pgEnvironment(proxy.info));
      } finally {
        await close();
      }
    });
}
