// `agentdb exec -- COMMAND`: the command runs with libpq's variables pointing at a proxy that lives as long as it.
import { pgEnvironment, runWithEnvironment } from '../../../client/index.js';
import { UsageError } from '../../exit-codes.js';
import type { DbFlags } from '../db-flags.js';
import { openProxy } from '../open-proxy.js';

export async function run(command: string[], opts: DbFlags): Promise<void> {
  if (command.length === 0) throw new UsageError('give the command to run after --');
  const { proxy, close } = await openProxy(opts, (err) => process.stderr.write(`agentdb exec: ${err.message}\n`));
  try {
    process.exitCode = await runWithEnvironment(command, pgEnvironment(proxy.info));
  } finally {
    await close();
  }
}
